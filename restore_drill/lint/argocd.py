"""Which ArgoCD Application or ApplicationSet deploys a directory, and into which
namespace: Applications by their source paths, ApplicationSets by their git-directory and
list generators (the generators the repository alone can resolve; the others are named).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import Any

from restore_drill.kinds import dig
from restore_drill.lint.loader import Document
from restore_drill.lint.model import Deployer, mapping, sequence, text


def deployer_of(doc: Document, kind: str) -> Deployer:
    meta = mapping(doc.body.get("metadata"))
    return Deployer(kind, text(meta.get("name")), text(meta.get("namespace")), doc.file, doc.body)


_TEMPLATE_FIELD = re.compile(r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
# ApplicationSet generators the lint resolves from the repository alone.
RESOLVED_GENERATORS = ("list", "git")


def _fill_template(template: str, element: dict[str, Any]) -> str:
    """An ApplicationSet template field with a list element's values (``{{.name}}`` in
    Go-template mode, ``{{name}}`` otherwise); empty when a field has no value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = element.get(match.group(1).removeprefix("values."))
        if found is None:
            missing = True
            return ""
        return str(found)

    filled = _TEMPLATE_FIELD.sub(value, template)
    return "" if missing else filled


def unresolved_generators(argo: list[Document]) -> list[str]:
    """ApplicationSet generators the lint cannot resolve from the repository (cluster,
    matrix, pull-request ...): what they deploy is not judged, and the summary says so."""
    found = []
    for doc in argo:
        if doc.body.get("kind") != "ApplicationSet":
            continue
        for generator in map(mapping, sequence(dig(doc.body, "spec", "generators"))):
            for kind in sorted(set(generator) - set(RESOLVED_GENERATORS)):
                found.append(f"ApplicationSet {text(dig(doc.body, 'metadata', 'name'))}: {kind}")
    return found


def deploying_app(argo: list[Document], directory: str) -> tuple[Deployer | None, str, str]:
    """The ArgoCD Application or ApplicationSet deploying ``directory``: (deployer, app, ns)."""
    basename = posixpath.basename(directory) if directory != "." else "."
    for doc in argo:
        spec = mapping(doc.body.get("spec"))
        if doc.body.get("kind") == "Application":
            sources = [mapping(spec.get("source")), *map(mapping, sequence(spec.get("sources")))]
            paths = {posixpath.normpath(text(s.get("path"))) for s in sources if s.get("path")}
            if directory in paths:
                deployer = deployer_of(doc, "Application")
                ns = text(dig(spec, "destination", "namespace"))
                return deployer, deployer.name, ns
            continue
        for generator in map(mapping, sequence(spec.get("generators"))):
            for element in map(mapping, sequence(dig(generator, "list", "elements"))):
                template = mapping(spec.get("template"))
                path = _fill_template(text(dig(template, "spec", "source", "path")), element)
                if path and posixpath.normpath(path) == directory:
                    deployer = deployer_of(doc, "ApplicationSet")
                    app = _fill_template(text(dig(template, "metadata", "name")), element)
                    ns = dig(template, "spec", "destination", "namespace")
                    return deployer, app or basename, _fill_template(text(ns), element)
            patterns = sequence(dig(generator, "git", "directories"))
            included = [text(dig(p, "path")) for p in patterns if not dig(p, "exclude")]
            excluded = [text(dig(p, "path")) for p in patterns if dig(p, "exclude")]
            if any(fnmatch.fnmatch(directory, p) for p in included) and not any(
                fnmatch.fnmatch(directory, p) for p in excluded
            ):
                deployer = deployer_of(doc, "ApplicationSet")
                ns = text(dig(spec, "template", "spec", "destination", "namespace"))
                ns = re.sub(r"\{\{\s*\.?path\.basename\s*\}\}", basename, ns)
                return deployer, basename, ns
    return None, basename, ""
