"""Sizes as people write them: '4MiB', '10GB'."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """'4MiB' -> 4194304, '10GB' -> 10**10 (IEC units are binary, SI units decimal)."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ValueError(f"size {text!r} is not a number with an optional unit, e.g. 4MiB or 1GB")
    number, unit = match.groups()
    if unit.lower() not in _UNITS:
        raise ValueError(
            f"size {text!r} has unknown unit {unit!r} (use B, KiB, MiB, GiB, TiB, KB, MB, GB)"
        )
    value = int(float(number) * _UNITS[unit.lower()])
    if value <= 0:
        raise ValueError(f"size {text!r} must be greater than zero")
    return value
