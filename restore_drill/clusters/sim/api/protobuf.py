"""Decoding of the Kubernetes protobuf bodies kubectl's typed clients send on create.

``kubectl create namespace|configmap|secret|serviceaccount`` send their object as
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0``, then a ``runtime.Unknown``
message wrapping the typed message. Only those four kinds and the metadata fields a
generator sets are decoded (field numbers from k8s.io/api's generated.proto); any other
kind answers 415 so the caller can tell.
"""

from __future__ import annotations

import base64
from typing import Any

from restore_drill.clusters.sim.api.status import ApiError

Obj = dict[str, Any]
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

Fields = list[tuple[int, int, Any]]  # (field number, wire type, value)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise ApiError(400, "truncated protobuf body")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> Fields:
    found: Fields = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        elif wire == 5:
            value, at = data[at : at + 4], at + 4
        else:
            raise ApiError(400, f"unsupported protobuf wire type {wire}")
        found.append((number, wire, value))
    return found


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _pair(entry: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, item in _fields(entry):
        if number == 1:
            key = _text(item)
        elif number == 2:
            value = item
    return key, value


def _metadata(data: bytes) -> Obj:
    meta: Obj = {}
    names = {1: "name", 2: "generateName", 3: "namespace"}
    for number, _, value in _fields(data):
        if number in names and value:
            meta[names[number]] = _text(value)
        elif number in (11, 12):
            key, item = _pair(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _text(item)
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _object(kind: str, raw: bytes) -> Obj:
    obj: Obj = {}
    for number, _, value in _fields(raw):
        if number == 1:
            obj["metadata"] = _metadata(value)
        elif kind == "Namespace" and number == 2:
            finalizers = [_text(v) for n, _, v in _fields(value) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
        elif kind in ("ConfigMap", "Secret") and number == 2:
            key, item = _pair(value)
            text = _text(item) if kind == "ConfigMap" else base64.b64encode(item).decode()
            obj.setdefault("data", {})[key] = text
        elif kind == "ConfigMap" and number == 3:
            key, item = _pair(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(item).decode()
        elif kind == "Secret" and number == 3:
            obj["type"] = _text(value)
        elif kind == "Secret" and number == 4:
            key, item = _pair(value)
            obj.setdefault("stringData", {})[key] = _text(item)
        elif (kind, number) in (("ConfigMap", 4), ("Secret", 5), ("ServiceAccount", 4)):
            obj["immutable" if kind != "ServiceAccount" else "automountServiceAccountToken"] = bool(
                value
            )
    return obj


def decode(body: bytes) -> Obj:
    """The JSON-shaped object of a protobuf request body, or 415 for kinds not decoded."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "a protobuf body must start with the k8s magic bytes")
    api_version, kind, raw = "", "", b""
    for number, _, value in _fields(body[len(MAGIC) :]):
        if number == 1:
            for inner, _, item in _fields(value):
                if inner == 1:
                    api_version = _text(item)
                elif inner == 2:
                    kind = _text(item)
        elif number == 2:
            raw = value
    if api_version != "v1" or kind not in ("Namespace", "ConfigMap", "Secret", "ServiceAccount"):
        raise ApiError(
            415,
            f"the body of the request was in an unknown format - {MEDIA_TYPE} "
            f"({kind or 'unknown kind'}): send application/json",
        )
    return {"apiVersion": api_version, "kind": kind, **_object(kind, raw)}
