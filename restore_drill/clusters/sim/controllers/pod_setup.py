"""What the kubelet prepares before a container starts: volumes on disk and the environment.

Volume types: persistentVolumeClaim (the PV's directory), configMap and secret (files written
under run_dir/pods/<ns>/<pod>/volumes/<volume>; secret files mode 0400 unless defaultMode says
otherwise, never logged), emptyDir (a fresh directory). Env: ``value``,
``valueFrom.secretKeyRef``, ``valueFrom.configMapKeyRef``, ``envFrom`` secretRef/configMapRef.
A missing object raises :class:`Missing` carrying the kubelet's event reason and message.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

from restore_drill.clusters.sim.controllers.base import Obj, SimContext
from restore_drill.clusters.sim.runner import ContainerSpec, Mount
from restore_drill.k8s import CONFIG_MAP, PVC, SECRET, Kube


class Missing(Exception):
    """A volume or env source that does not exist (yet)."""

    def __init__(self, reason: str, message: str, detail: str) -> None:
        super().__init__(message)
        self.reason, self.message, self.detail = reason, message, detail


def _data(obj: Obj, binary: bool) -> dict[str, bytes]:
    """Keys of a ConfigMap or Secret as bytes (Secret data is base64 on the wire)."""
    if binary:
        # the API server has already folded any stringData into data
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return data


def _write_files(
    directory: Path, data: dict[str, bytes], items: list[Obj] | None, mode: int
) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    chosen = (
        [(i["key"], i["path"], i.get("mode", mode)) for i in items]
        if items
        else [(k, k, mode) for k in data]
    )
    for key, relative, file_mode in chosen:
        if key not in data:
            continue
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key])
        os.chmod(path, file_mode)


def volumes_of(kube: Kube, ctx: SimContext, pod: Obj) -> dict[str, str]:
    """Host directory of each volume of ``pod``, materialised (raises :class:`Missing`)."""
    meta = pod["metadata"]
    namespace = meta["namespace"]
    base = ctx.pods_dir / namespace / meta["name"] / "volumes"
    paths: dict[str, str] = {}
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        if volume.get("persistentVolumeClaim"):
            claim = volume["persistentVolumeClaim"]["claimName"]
            pvc = kube.find(PVC, claim, namespace)
            if pvc is None or not pvc["spec"].get("volumeName"):
                raise Missing("FailedMount", f'persistentvolumeclaim "{claim}" not found', "")
            paths[name] = str(ctx.volumes_dir / pvc["spec"]["volumeName"])
        elif volume.get("configMap") or volume.get("secret"):
            is_secret = bool(volume.get("secret"))
            source = volume["secret"] if is_secret else volume["configMap"]
            object_name = source.get("secretName") if is_secret else source.get("name")
            found = kube.find(SECRET if is_secret else CONFIG_MAP, str(object_name), namespace)
            directory = base / name
            if found is None:
                if source.get("optional"):
                    _write_files(directory, {}, None, 0o644)
                    paths[name] = str(directory)
                    continue
                what = "secret" if is_secret else "configmap"
                raise Missing(
                    "FailedMount",
                    f'MountVolume.SetUp failed for volume "{name}" : '
                    f'{what} "{object_name}" not found',
                    "",
                )
            mode = source.get("defaultMode", 0o400 if is_secret else 0o644)
            _write_files(directory, _data(found, is_secret), source.get("items"), mode)
            paths[name] = str(directory)
        else:  # emptyDir and anything the sim does not model: an empty directory
            directory = base / name
            directory.mkdir(parents=True, exist_ok=True)
            paths[name] = str(directory)
    return paths


def _lookup(kube: Kube, namespace: str, ref: Obj, is_secret: bool) -> dict[str, bytes] | None:
    found = kube.find(SECRET if is_secret else CONFIG_MAP, str(ref.get("name")), namespace)
    return None if found is None else _data(found, is_secret)


def _missing(what: str, name: str) -> Missing:
    detail = f'{what} "{name}" not found'
    return Missing("Failed", f"Error: {detail}", detail)


def environment(kube: Kube, namespace: str, container: Obj) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        for field, is_secret in (("secretRef", True), ("configMapRef", False)):
            ref = source.get(field)
            if not ref:
                continue
            data = _lookup(kube, namespace, ref, is_secret)
            if data is None:
                if ref.get("optional"):
                    continue
                raise _missing("secret" if is_secret else "configmap", str(ref.get("name")))
            prefix = source.get("prefix", "")
            env.update({prefix + k: v.decode(errors="replace") for k, v in data.items()})
    for item in container.get("env") or []:
        value_from = item.get("valueFrom") or {}
        if "value" in item or not value_from:
            env[item["name"]] = str(item.get("value", ""))
            continue
        for field, is_secret in (("secretKeyRef", True), ("configMapKeyRef", False)):
            ref = value_from.get(field)
            if not ref:
                continue
            data = _lookup(kube, namespace, ref, is_secret)
            what = "secret" if is_secret else "configmap"
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    break
                if data is None:
                    raise _missing(what, str(ref.get("name")))
                detail = (
                    f"couldn't find key {ref.get('key')} in {what.capitalize()} "
                    f"{namespace}/{ref.get('name')}"
                )
                raise Missing("Failed", f"Error: {detail}", detail)
            env[item["name"]] = data[ref["key"]].decode(errors="replace")
    return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion; ``$$(VAR)`` escapes; unknown names stay as written."""
    return re.sub(
        r"\$(\$)?\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: f"$({m[2]})" if m[1] else env.get(m[2], m[0]),
        text,
    )


def container_spec(kube: Kube, pod: Obj, container: Obj, volumes: dict[str, str]) -> ContainerSpec:
    """The process to run for ``container`` (raises :class:`Missing`)."""
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    mounts = []
    for mount in container.get("volumeMounts") or []:
        host = volumes[mount["name"]]
        if mount.get("subPath"):
            host = str(Path(host) / mount["subPath"])
            Path(host).mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(host, mount["mountPath"], bool(mount.get("readOnly"))))
    env = environment(kube, pod["metadata"]["namespace"], container)
    argv = [expand(arg, env) for arg in argv]  # $(VAR) references, as the kubelet expands
    return ContainerSpec(
        container["name"], argv or ["true"], env, container.get("workingDir") or "/", mounts
    )
