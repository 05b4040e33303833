"""Patch formats: JSON merge patch, JSON patch, strategic merge patch and (simplified) apply."""

from __future__ import annotations

import copy
from typing import Any

from restore_drill.clusters.sim.api.status import ApiError

Obj = dict[str, Any]

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

# List fields of built-in kinds merged by key in strategic merge patch (patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "tolerations": "key",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
# Primitive lists with patchStrategy "merge" (set union).
UNION_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"the path {'/'.join(parts)!r} does not exist") from exc
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    node = _parent(doc, parts)
    try:
        return node[int(parts[-1])] if isinstance(node, list) else node[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, f"the path {'/'.join(parts)!r} does not exist") from exc


def _remove(doc: Any, parts: list[str]) -> Any:
    node = _parent(doc, parts)
    try:
        return node.pop(int(parts[-1])) if isinstance(node, list) else node.pop(parts[-1])
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, f"unable to remove nonexistent key: {parts[-1]}") from exc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    node = _parent(doc, parts)
    if isinstance(node, list):
        index = len(node) if parts[-1] == "-" else int(parts[-1])
        if index > len(node):
            raise ApiError(422, "index out of range in JSON patch")
        node.insert(index, value)
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise ApiError(422, "cannot add to a scalar in JSON patch")
    return doc


def json_patch(target: Obj, operations: Any) -> Obj:
    """RFC 6902 on a copy of ``target``."""
    if not isinstance(operations, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    doc: Any = copy.deepcopy(target)
    for op in operations:
        kind, parts = op.get("op"), _pointer(str(op.get("path", "")))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            _remove(doc, parts) if parts else None
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(str(op.get("from", "")))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise ApiError(422, f"testing value {op.get('path')} failed")
        else:
            raise ApiError(422, f"unexpected JSON patch operation {kind!r}")
    if not isinstance(doc, dict):
        raise ApiError(422, "a JSON patch must leave an object")
    return dict(doc)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch for built-in kinds: lists of MERGE_KEYS merge by key,
    ``finalizers`` merge as a set, ``$patch: delete|replace`` and
    ``$deleteFromPrimitiveList`` are honoured, ``$setElementOrder``/``$retainKeys`` ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS:
            result[key] = _merge_list(result.get(key) or [], value, MERGE_KEYS[key])
        elif isinstance(value, list) and key in UNION_LISTS:
            current = list(result.get(key) or [])
            result[key] = current + [v for v in value if v not in current]
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    merged = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            return copy.deepcopy(patch)  # not a keyed list after all: replace it
        index = next(
            (
                i
                for i, old in enumerate(merged)
                if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(strategic_merge({}, item))
        else:
            merged[index] = strategic_merge(merged[index], item)
    return merged


def patch_document(target: Obj, content_type: str, raw: bytes) -> Obj:
    """Apply a JSON-encoded patch of ``content_type`` to ``target`` (not apply patches)."""
    import json

    media = content_type.split(";", maxsplit=1)[0].strip()
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"the patch could not be decoded: {exc}") from exc
    if media == MERGE:
        return dict(merge_patch(target, body))
    if media == JSON_PATCH:
        return json_patch(target, body)
    if media == STRATEGIC:
        return dict(strategic_merge(target, body))
    raise ApiError(415, f"the body of the request was in an unknown format - {media}")


def apply_config(current: Obj, applied: Obj) -> Obj:
    """Server-side apply, simplified: the applied configuration is merged over the live
    object (keyed lists by key, other lists replaced). Fields the manager applied before and
    dropped now are NOT removed, and no per-field ownership or conflicts are tracked."""
    return dict(strategic_merge(current, applied))
