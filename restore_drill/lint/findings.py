"""What a lint rule reports: one :class:`Finding` per problem, with the rule's catalogue entry."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    """A catalogue entry: the id users grep for, how bad it is, and how to fix it."""

    id: str
    severity: str
    title: str
    hint: str


@dataclass(frozen=True)
class Finding:
    """One problem in one object (or one file, for input that could not be read)."""

    rule: str
    severity: str
    message: str
    file: str
    kind: str = ""
    namespace: str = ""
    name: str = ""
    app: str = ""
    hint: str = ""
    line: int = 0

    @property
    def object_ref(self) -> str:
        """``Kind/namespace/name`` (``Kind/name`` if cluster-scoped, the file if no object)."""
        if not self.kind:
            return self.file or "(repository)"
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "app": self.app,
            "file": self.file,
            "line": self.line,
            "object": self.object_ref,
            "message": self.message,
            "hint": self.hint,
        }
