"""Find the YAML files of a repository and load them safely.

A GitOps repository is input a stranger wrote: every way a file can be unreadable (too big,
binary, not UTF-8, a YAML bomb, a symlink loop, bad syntax) becomes a finding, never a crash,
and no file can make the linter use unbounded time or memory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_FILE_BYTES = 4 * 1024 * 1024
# Nodes after alias expansion: a real manifest file has a few thousand.
MAX_EXPANDED_NODES = 200_000
SKIPPED_DIRS = {".git", "node_modules", ".terraform"}

try:  # libyaml is ten times faster; the pure-Python loader behaves the same.
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader
# A line that starts a Kubernetes object, for files that do not parse.
_MANIFEST_LINE = re.compile(r"^(apiVersion|kind):", re.MULTILINE)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """Safe loading that reads an application's own tags (``!include``, ``!secret``) as
    plain values and remembers them: such a file is an app's config, not a manifest."""

    unknown_tags: set[str]


def _unknown_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if not hasattr(loader, "unknown_tags"):
        loader.unknown_tags = set()
    loader.unknown_tags.add(f"!{suffix}")
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_Loader.add_multi_constructor("!", _unknown_tag)


@dataclass
class Document:
    """One YAML document of one file: the object and where it came from."""

    body: dict[str, Any]
    file: str
    line: int


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unknown_tags: set[str] = field(default_factory=set)
    manifest_like: bool = False  # a line starts with apiVersion: or kind:

    @property
    def has_objects(self) -> bool:
        """Whether any document names its apiVersion and kind (what makes a manifest)."""
        return any(d.body.get("apiVersion") and d.body.get("kind") for d in self.documents)


class AliasBomb(Exception):
    """A document whose aliases expand past MAX_EXPANDED_NODES."""


def walk_yaml_files(root: Path) -> tuple[list[Path], list[Finding]]:
    """Every YAML file under ``root``, following directory symlinks once; loops become findings."""
    files: list[Path] = []
    findings: list[Finding] = []
    seen_dirs: set[tuple[int, int]] = set()
    real_root = root.resolve()

    def visit(directory: Path) -> None:
        try:
            stat = directory.stat()
        except OSError:
            findings.append(_loop(root, directory))
            return
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:
            findings.append(_loop(root, directory))
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name in SKIPPED_DIRS:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:
                is_dir = is_file = False
            if entry.is_symlink() and not (is_dir or is_file):
                if _is_symlink_loop(path):
                    findings.append(_loop(root, path))
                continue
            if entry.is_symlink() and not path.resolve().is_relative_to(real_root):
                # A link to / or /dev would make the walk unbounded (or block on a device).
                rel = relative(root, path)
                findings.append(
                    finding(
                        "RD905", f"{rel}: symlink leaves the repository, not followed", file=rel
                    )
                )
                continue
            if is_dir:
                visit(path)
            elif is_file and (entry.name.endswith(YAML_SUFFIXES) or entry.name == "Kustomization"):
                files.append(path)

    visit(root)
    return files, findings


def _is_symlink_loop(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 raises RuntimeError on a loop
        return True
    except OSError as exc:
        return exc.errno == 40  # ELOOP
    return False


def _loop(root: Path, path: Path) -> Finding:
    rel = relative(root, path)
    return finding("RD905", f"{rel}: symlink loop, not followed", file=rel)


def relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(root: Path, path: Path) -> tuple[str | None, Finding | None]:
    """The file's text, or the finding that says why it cannot be used."""
    rel = relative(root, path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, finding(
                "RD901",
                f"{rel}: {size} bytes, over the {MAX_FILE_BYTES} byte limit; skipped",
                file=rel,
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        if exc.errno == 40:
            return None, _loop(root, path)
        return None, finding("RD900", f"{rel}: cannot read: {exc.strerror}", file=rel)
    if b"\x00" in raw[:8192]:
        return None, finding("RD902", f"{rel}: binary content; skipped", file=rel)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, finding(
            "RD903", f"{rel}: invalid UTF-8 at byte {exc.start}; skipped", file=rel
        )


def parse_documents(text: str, rel: str) -> LoadResult:
    """Parse a multi-document YAML text; mapping documents become :class:`Document`."""
    result = LoadResult(manifest_like=bool(_MANIFEST_LINE.search(text)))
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_expansion(node)
            body = loader.construct_document(node)
            if isinstance(body, dict):
                result.documents.append(Document(body, rel, node.start_mark.line + 1))
    except AliasBomb:
        result.findings.append(
            finding(
                "RD904",
                f"{rel}: YAML aliases or nesting expand past {MAX_EXPANDED_NODES} nodes "
                "(or 500 levels); skipped",
                file=rel,
            )
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or type(exc).__name__
        result.findings.append(
            finding("RD900", f"{rel}:{line}: YAML syntax error: {problem}", file=rel, line=line)
        )
    except (RecursionError, ValueError, TypeError) as exc:
        result.findings.append(
            finding("RD900", f"{rel}: cannot be loaded: {type(exc).__name__}", file=rel)
        )
    finally:
        result.unknown_tags = set(getattr(loader, "unknown_tags", set()))
        loader.dispose()
    return result


def _check_expansion(node: yaml.Node) -> None:
    """Count the nodes the document has once every alias is expanded (memoised: linear time)."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node, depth: int) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        if depth > 500:
            raise AliasBomb
        total = 1
        if isinstance(current, yaml.SequenceNode):
            for child in current.value:
                total += size(child, depth + 1)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                total += size(key, depth + 1) + size(value, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise AliasBomb
        sizes[id(current)] = total
        return total

    size(node, 0)


def load_file(root: Path, path: Path) -> LoadResult:
    text, problem = read_text(root, path)
    if problem is not None:
        return LoadResult(findings=[problem])
    assert text is not None
    return parse_documents(text, relative(root, path))


def load_tree(root: Path) -> tuple[dict[str, LoadResult], list[Finding]]:
    """Every YAML file under ``root`` by relative path, plus the findings of the walk."""
    files, walk_findings = walk_yaml_files(root)
    return {relative(root, path): load_file(root, path) for path in files}, walk_findings


def iter_objects(results: dict[str, LoadResult]) -> Iterator[Document]:
    for result in results.values():
        yield from result.documents
