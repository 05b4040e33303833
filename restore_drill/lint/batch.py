"""Many kustomization roots rendered by one kustomize run, each root's text exactly what
rendering it alone prints.

Each ``kubectl kustomize`` costs about 0.1 s of CPU to start, so a repository of 40 roots
spent seconds starting kustomize. A batch is a wrapper kustomization in a temporary
directory whose resources are the roots. Its render lists every object in kustomize's
default order, which orders each root's objects as rendering the root alone does; a
root's text is its objects in that order, joined as kustomize joins them. Whose each object
is: by kind and name, when no root of the batch can rename an object (``Batch.sources``);
otherwise from a second render, at the same time, in resource order with a marker object
after each root.

Rendered together, roots could change each other: kustomize fixes references by name across
everything it renders (a root that moves a ServiceAccount to its namespace rewrites another
root's RoleBinding subject), substitutes ``vars`` everywhere and sorts by the top
kustomization's ``sortOptions``. Hence:

- only roots whose every kustomization uses fields that act inside it are batched
  (``BATCHABLE_FIELDS``), and whose every listed file exists and loads;
- roots are grouped so that no root's files name (as any string) an object another root of
  its group defines;
- a root whose rendered objects name an object another root of its batch rendered is
  rendered alone again: a rewritten reference always names the object it now points at;
- a batch that fails is split in two, down to single roots, so that every failure reads as
  that root alone reports it (``render_roots`` in kustomize.py runs all this).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from restore_drill.lint.loader import KUSTOMIZATION_NAMES

if TYPE_CHECKING:
    from restore_drill.lint.kustomize import Kustomization
    from restore_drill.lint.loader import LoadResult

# Fields whose effect stays inside the kustomization that has them. Anything else (vars,
# sortOptions, buildMetadata, configurations, crds, openapi, plugins, Helm) renders alone.
BATCHABLE_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "resources",
        "bases",
        "components",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "labels",
        "commonLabels",
        "commonAnnotations",
        "images",
        "replicas",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "replacements",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
    }
)
# Two roots cost two subprocesses whether batched (two renders) or not.
MIN_BATCH = 3
# Fields that can give an object a name its file does not (patches are looked at one by one).
_RENAMING_FIELDS = frozenset(
    {
        "namePrefix",
        "nameSuffix",
        "configMapGenerator",
        "secretGenerator",
        "replacements",
        "patchesJson6902",
    }
)
_SEPARATOR = re.compile(r"^---\n", re.MULTILINE)
_UNLOADABLE = object()  # a rendered document that does not load
_MARKER_PREFIX = "restore-drill-lint-boundary"
try:  # libyaml when PyYAML has it; the pure-Python loader reads the same objects
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass
class Batch:
    """Roots rendered together. ``sources`` (the kind and name of every object in each
    root's files) is set when no root can rename an object: then one render is enough, each
    object going to the root whose files define its kind and name."""

    directories: list[str]
    sources: list[set[tuple[str, str]]] | None = None


@dataclass
class _Group:
    directories: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # metadata.name of the objects in its files
    strings: set[str] = field(default_factory=set)  # every string value in its files
    sources: list[set[tuple[str, str]]] = field(default_factory=list)
    by_name: bool = True

    def clashes(self, other: _Group) -> bool:
        return bool(self.names & other.strings or self.strings & other.names)

    def absorb(self, other: _Group) -> None:
        self.directories += other.directories
        self.names |= other.names
        self.strings |= other.strings
        self.sources += other.sources


def plan_batches(
    repo: str,
    roots: Sequence[Kustomization],
    loads: dict[str, LoadResult],
    reads: dict[str, set[str]],
) -> list[Batch]:
    """Batches of MIN_BATCH or more roots; the other roots render alone."""
    groups: list[_Group] = []
    for root in roots:
        files = reads[root.directory]
        if not _batchable(repo, files, loads):
            continue
        candidate = _Group([root.directory], by_name=_keeps_names(files, loads))
        pairs: set[tuple[str, str]] = set()
        for rel in files:
            if posixpath.basename(rel) in KUSTOMIZATION_NAMES or rel not in loads:
                continue
            for doc in loads[rel].documents:
                meta = doc.body.get("metadata")
                if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                    candidate.names.add(meta["name"])
                    pairs.add((str(doc.body.get("kind")), meta["name"]))
                candidate.strings.update(_strings(doc.body))
        candidate.sources.append(pairs)
        for group in groups:
            if group.by_name == candidate.by_name and not group.clashes(candidate):
                group.absorb(candidate)
                break
        else:
            groups.append(candidate)
    return [
        Batch(group.directories, group.sources if group.by_name else None)
        for group in groups
        if len(group.directories) >= MIN_BATCH
    ]


def _batchable(repo: str, files: set[str], loads: dict[str, LoadResult]) -> bool:
    for rel in files:
        result = loads.get(rel)
        if result is not None and result.findings:
            return False  # a file kustomize may not read either: it fails alone
        if posixpath.basename(rel) in KUSTOMIZATION_NAMES and result and result.documents:
            if not set(result.documents[0].body) <= BATCHABLE_FIELDS:
                return False
        elif result is None and not os.path.isfile(os.path.join(repo, rel)):
            return False  # missing, or a directory without a kustomization: it fails alone
    return True


def _keeps_names(files: set[str], loads: dict[str, LoadResult]) -> bool:
    """Whether every object the root renders keeps the name its file gives it: no prefix,
    suffix, generator, replacement or JSON patch, and every file it reads was loaded."""
    for rel in files:
        result = loads.get(rel)
        if result is None:
            return False
        if posixpath.basename(rel) not in KUSTOMIZATION_NAMES or not result.documents:
            continue
        body = result.documents[0].body
        if set(body) & _RENAMING_FIELDS:
            return False
        patches = body.get("patches") or []
        if not isinstance(patches, list) or not all(
            _strategic_merge(posixpath.dirname(rel), patch, loads) for patch in patches
        ):
            return False
    return True


def _strategic_merge(directory: str, patch: Any, loads: dict[str, LoadResult]) -> bool:
    """A ``patches`` entry that is a strategic-merge patch (which cannot rename), not a
    JSON patch, and does not allow a name change."""
    if not isinstance(patch, dict) or "options" in patch:
        return False
    if isinstance(patch.get("patch"), str):
        try:
            return isinstance(yaml.load(patch["patch"], Loader=_Loader), dict)
        except yaml.YAMLError:
            return False
    if isinstance(patch.get("path"), str):
        found = loads.get(posixpath.normpath(posixpath.join(directory, patch["path"])))
        return found is not None and bool(found.documents)
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def write_wrappers(scratch: str, repo: str, directories: Sequence[str]) -> tuple[str, str, str]:
    """Two wrapper kustomizations over ``directories`` (sorted as usual; in resource order
    with a marker after each root) under ``scratch``: (sorted, marked, marker prefix)."""
    prefix = f"{_MARKER_PREFIX}-{secrets.token_hex(6)}"
    sorted_dir, marked_dir = os.path.join(scratch, "sorted"), os.path.join(scratch, "marked")
    os.makedirs(sorted_dir)
    os.makedirs(marked_dir)
    real_repo = os.path.realpath(repo)
    head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
    plain, marked = [head], [head]
    for index, directory in enumerate(directories):
        target = os.path.join(real_repo, directory)
        plain.append(f"  - {json.dumps(os.path.relpath(target, sorted_dir))}\n")
        marked.append(f"  - {json.dumps(os.path.relpath(target, marked_dir))}\n")
        marked.append(f"  - boundary-{index}.yaml\n")
        with open(os.path.join(marked_dir, f"boundary-{index}.yaml"), "w") as handle:
            handle.write(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {prefix}-{index}\n")
    marked.append("sortOptions:\n  order: fifo\n")
    for directory, lines in ((sorted_dir, plain), (marked_dir, marked)):
        with open(os.path.join(directory, "kustomization.yaml"), "w") as handle:
            handle.write("".join(lines))
    return sorted_dir, marked_dir, prefix


def documents(text: str) -> list[str]:
    """kustomize's output cut into its documents (each ends with a newline)."""
    return _SEPARATOR.split(text) if text else []


def resolve(
    batch: Batch, sorted_text: str, marked: tuple[str, str] | None
) -> tuple[list[str], set[int]] | None:
    """Each root's text from a batch's renders (``marked``: the marked render's text and its
    marker prefix), and the roots to render alone (see ``crossed``). None when the renders
    do not tell the roots apart: render again with markers, or in halves."""
    if marked is None:
        if batch.sources is None:
            return None
        per_root = _attribute(sorted_text, batch.sources)
    else:
        split = _split(sorted_text, *marked, len(batch.directories))
        per_root = None if split is None else [[(d, _load(d)) for d in docs] for docs in split]
    if per_root is None:
        return None
    texts = ["---\n".join(doc for doc, _ in docs) for docs in per_root]
    return texts, crossed([[body for _, body in docs] for docs in per_root])


def _load(doc: str) -> Any:
    try:
        return yaml.load(doc, Loader=_Loader)
    except yaml.YAMLError:
        return _UNLOADABLE


def _attribute(
    sorted_text: str, sources: Sequence[set[tuple[str, str]]]
) -> list[list[tuple[str, Any]]] | None:
    """Each root's documents by the kind and name of each object (None when an object is
    not one that exactly one root's files define)."""
    owner: dict[tuple[str, str], int] = {}
    for index, pairs in enumerate(sources):
        for pair in pairs:
            if owner.setdefault(pair, index) != index:
                return None
    per_root: list[list[tuple[str, Any]]] = [[] for _ in sources]
    for doc in documents(sorted_text):
        body = _load(doc)
        meta = body.get("metadata") if isinstance(body, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        root = owner.get((str(body.get("kind")), name)) if isinstance(name, str) else None
        if root is None:
            return None
        per_root[root].append((doc, body))
    return per_root


def _split(sorted_text: str, marked_text: str, prefix: str, count: int) -> list[list[str]] | None:
    """Each root's documents: which root from the marked render, the order from the sorted
    one (None if the two renders do not agree)."""
    marker = re.compile(rf"^  name: {re.escape(prefix)}-(\d+)$", re.MULTILINE)
    owner: dict[str, int] = {}
    current = 0
    for doc in documents(marked_text):
        found = marker.search(doc)
        if found is not None:
            if int(found.group(1)) != current:
                return None
            current += 1
        elif doc in owner or current >= count:
            return None
        else:
            owner[doc] = current
    in_order = documents(sorted_text)
    if current != count or len(in_order) != len(owner) or not sorted_text.endswith("\n"):
        return None
    per_root: list[list[str]] = [[] for _ in range(count)]
    for doc in in_order:
        if doc not in owner:
            return None
        per_root[owner[doc]].append(doc)
    return per_root


def crossed(bodies: Sequence[Sequence[Any]]) -> set[int]:
    """Roots (by index) whose objects name, in any string, an object another root of the
    batch rendered, or whose output does not load: they are rendered alone."""
    names: dict[str, set[int]] = {}
    suspect: set[int] = set()
    for index, objects in enumerate(bodies):
        for body in objects:
            meta = body.get("metadata") if isinstance(body, dict) else None
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                names.setdefault(meta["name"], set()).add(index)
            elif body is _UNLOADABLE:
                suspect.add(index)
    for index, objects in enumerate(bodies):
        if any(names.get(value, {index}) - {index} for value in _strings(list(objects))):
            suspect.add(index)
    return suspect
