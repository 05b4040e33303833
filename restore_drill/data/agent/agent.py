#!/usr/bin/env python3
"""restore-drill data agent: write a deterministic dataset, list it as a manifest, check it.

Stdlib only, Python >= 3.9. The modules beside this file are shipped with it (one
ConfigMap key each) and run next to the data:

    agent.py write --profile-file profile.json --seed S --size 4MiB --root /data
    agent.py manifest --root /data      (JSON lines on stdout)
    agent.py mark --root /data          (post-backup marker; must be absent after restore)
    agent.py check --root /data         (SQLite integrity_check; exit 0 ok, 1 with reasons)
"""

from __future__ import annotations

import importlib
import os
import sys
import types

PACKAGE = "restore_drill_agent"


def sibling(name: str) -> types.ModuleType:
    """The module ``name`` beside this file, imported as part of one package.

    The directory is a ConfigMap mount (no ``__init__.py``, no parent package), so it is
    registered as a package by hand; the siblings' relative imports then work as they do
    inside ``restore_drill.data.agent``.
    """
    if PACKAGE not in sys.modules:
        package = types.ModuleType(PACKAGE)
        package.__path__ = [os.path.dirname(os.path.abspath(__file__))]
        sys.modules[PACKAGE] = package
    return importlib.import_module(f"{PACKAGE}.{name}")


if __name__ == "__main__":
    sys.exit(sibling("cli").main(description=__doc__.splitlines()[0]))
