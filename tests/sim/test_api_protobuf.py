"""Protobuf request bodies (what kubectl's create generators send)."""

from __future__ import annotations

import pytest

from restore_drill.clusters.sim.api.protobuf import MAGIC, decode
from restore_drill.clusters.sim.api.status import ApiError
from tests.sim.conftest import SimApi


def varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def envelope(kind: str, raw: bytes) -> bytes:
    type_meta = field(1, b"v1") + field(2, kind.encode())
    return MAGIC + field(1, type_meta) + field(2, raw)


def config_map_body() -> bytes:
    metadata = field(1, b"settings") + field(11, field(1, b"app") + field(2, b"web"))
    data = field(2, field(1, b"mode") + field(2, b"fast"))
    return envelope("ConfigMap", field(1, metadata) + data)


def test_decode_a_config_map() -> None:
    assert decode(config_map_body()) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "web"}},
        "data": {"mode": "fast"},
    }


def test_decode_a_secret_base64_encodes_its_data() -> None:
    raw = (
        field(1, field(1, b"creds"))
        + field(2, field(1, b"pw") + field(2, b"\x00\xff"))
        + field(3, b"Opaque")
    )
    decoded = decode(envelope("Secret", raw))
    assert decoded["data"] == {"pw": "AP8="}
    assert decoded["type"] == "Opaque"


def test_other_kinds_and_garbage_are_refused() -> None:
    with pytest.raises(ApiError) as other:
        decode(envelope("Deployment", b""))
    assert other.value.code == 415
    with pytest.raises(ApiError) as garbage:
        decode(b"not protobuf")
    assert garbage.value.code == 400


def test_create_with_a_protobuf_body(sim_api: SimApi) -> None:
    code, created = sim_api.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        config_map_body(),
        "application/vnd.kubernetes.protobuf",
    )
    assert code == 201
    assert created["data"] == {"mode": "fast"}
