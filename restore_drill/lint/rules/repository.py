"""Repository Secrets and repository paths (RD050-RD053)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass

from restore_drill.kinds import dig
from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Deployed, Model, mapping, sequence, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import restic

REQUIRED = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD")
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@dataclass
class SecretView:
    """What the repository shows of a Secret: its keys (None if unknowable) and visible values."""

    obj: Deployed
    keys: set[str] | None
    values: dict[str, str]


def secret_view(model: Model, namespace: str, name: str) -> SecretView | None:
    secret = model.get("Secret", namespace, name)
    if secret is not None:
        values = {k: text(v) for k, v in mapping(secret.body.get("stringData")).items()}
        for key, value in mapping(secret.body.get("data")).items():
            values.setdefault(key, _decode(text(value)))
        return SecretView(secret, set(values), values)
    for external in model.of_kind("ExternalSecret"):
        target = text(dig(external.spec, "target", "name")) or external.name
        if external.namespace == namespace and target == name:
            template = mapping(dig(external.spec, "target", "template", "data"))
            keys = {text(dig(item, "secretKey")) for item in sequence(external.spec.get("data"))}
            keys |= set(template)
            unknown = bool(external.spec.get("dataFrom"))
            return SecretView(
                external, None if unknown else keys, {k: text(v) for k, v in template.items()}
            )
    for sealed in model.of_kind("SealedSecret"):
        if sealed.namespace == namespace and sealed.name == name:
            return SecretView(sealed, set(mapping(sealed.spec.get("encryptedData"))), {})
    return None


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def check_secrets(model: Model, policy: Policy) -> Iterator[Finding]:
    visible = any(True for _ in model.of_kind("Secret", "ExternalSecret", "SealedSecret"))
    if not visible:
        return  # secrets live outside this repository: nothing to judge
    owners: dict[str, list[Deployed]] = {}
    for mover in [*model.volsync("ReplicationSource"), *model.volsync("ReplicationDestination")]:
        name = text(restic(mover).get("repository"))
        if not name:
            continue
        label = f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}"
        view = secret_view(model, mover.namespace, name)
        if view is None:
            yield finding(
                "RD050",
                f"{label}: repository Secret {name} not found in {mover.namespace}",
                file=mover.file,
                **mover.where(),
            )
            continue
        if view.keys is not None:
            missing = [k for k in REQUIRED if k not in view.keys]
            if missing:
                yield finding(
                    "RD051",
                    f"{label}: Secret {name} lacks {', '.join(missing)}",
                    file=mover.file,
                    **mover.where(),
                )
            url = view.values.get("RESTIC_REPOSITORY", "")
            lacking = [k for k in S3_KEYS if k not in view.keys]
            if url.startswith("s3:") and lacking:
                yield finding(
                    "RD052",
                    f"{label}: Secret {name} points at an s3: repository "
                    f"but lacks {', '.join(lacking)}",
                    file=mover.file,
                    **mover.where(),
                )
        if mover.kind == "ReplicationSource":
            url = view.values.get("RESTIC_REPOSITORY", "").rstrip("/")
            owners.setdefault(url or f"secret:{mover.namespace}/{name}", []).append(mover)
    for url, sources in owners.items():
        if len(sources) < 2 or "{{" in url:
            continue
        first, *others = sorted(sources, key=lambda o: (o.namespace, o.name))
        for other in others:
            shown = url if not url.startswith("secret:") else f"the one in {url[7:]}"
            yield finding(
                "RD053",
                f"{other.file}: ReplicationSource {other.namespace}/"
                f"{other.name} writes the same repository as {first.namespace}/"
                f"{first.name} ({shown})",
                file=other.file,
                **other.where(),
            )
