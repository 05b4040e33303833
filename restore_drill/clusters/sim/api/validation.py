"""Validation at admission: built-in schemas, immutable PVC spec, VolSync's required fields.

Built-in kinds are checked against the OpenAPI schemas shipped with kubernetes-validate.
Building a validator costs ~15 ms, so one is built per kind and cached; a check then costs
well under a millisecond. Unknown fields are not rejected (the real server's default field
validation drops them with a warning).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from restore_drill.clusters.sim.api.resources import ResourceType
from restore_drill.clusters.sim.api.status import ApiError, invalid

Obj = dict[str, Any]
SCHEMA_VERSION = "1.33"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@functools.cache
def _validator(kind: str, api_version: str, strict: bool = False) -> Any:
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    version = [v for v in utils.all_versions() if utils.major_minor(v) <= SCHEMA_VERSION][-1]
    # the "-strict" schemas forbid properties the type does not have
    schema_dir = f"kubernetes-json-schema/v{version}-local" + ("-strict" if strict else "")
    # file names use the group's first label: "storage.k8s.io/v1" -> "storage-v1"
    group, _, version_name = api_version.rpartition("/")
    short = f"{group.split('.', maxsplit=1)[0]}-{version_name}" if group else version_name
    try:
        schema = utils.schema_contents(f"{schema_dir}/{kind.lower()}-{short}.json", version)
    except FileNotFoundError:
        return None
    definitions = utils.schema_contents(f"{schema_dir}/_definitions.json", version)
    registry: Any = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _path(error: Any) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "<root>"


def check_schema(resource: ResourceType, obj: Obj) -> None:
    if not resource.builtin_schema:
        return
    validator = _validator(resource.kind, resource.api_version)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        name = obj.get("metadata", {}).get("name", "")
        raise invalid(
            resource.kind, name, [(_path(e), e.message) for e in errors[:5]], resource.group
        )


def check_unknown_fields(resource: ResourceType, obj: Obj) -> None:
    """``fieldValidation=Strict`` (what kubectl asks for): unknown fields of a built-in kind
    are refused with 400, as the real server's strict decoding does."""
    validator = (
        _validator(resource.kind, resource.api_version, True) if (resource.builtin_schema) else None
    )
    if validator is None:
        return
    unknown = []
    for error in validator.iter_errors(obj):
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set((error.schema.get("properties") or {}).keys())
            prefix = _path(error) if error.absolute_path else ""
            unknown += [f"{prefix}.{key}".lstrip(".") for key in error.instance if key not in known]
    if unknown:
        detail = ", ".join(f'unknown field "{field}"' for field in sorted(unknown))
        raise ApiError(
            400,
            f'{resource.kind} in version "{resource.version}" cannot be handled as a '
            f"{resource.kind}: strict decoding error: {detail}",
        )


def check_name(resource: ResourceType, obj: Obj) -> None:
    name = obj.get("metadata", {}).get("name")
    if not name:
        raise invalid(
            resource.kind,
            "",
            [("metadata.name", "Required value: name or generateName is required")],
            resource.group,
        )
    if not _DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253:
        raise invalid(
            resource.kind,
            name,
            [
                (
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                    "lower case alphanumeric characters, '-' or '.', and must start and end "
                    "with an alphanumeric character",
                )
            ],
            resource.group,
        )


def _quantity(text: Any) -> float:
    units = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
        "Ei": 2**60,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "P": 1e15,
        "E": 1e18,
        "m": 1e-3,
    }
    value = str(text)
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    try:
        return float(value)
    except ValueError:
        return 0.0


def check_pvc(obj: Obj) -> None:
    """The claim fields the real server's own validation requires (the schema does not)."""
    spec = obj.get("spec") or {}
    causes = []
    if not spec.get("accessModes"):
        causes.append(("spec.accessModes", "Required value: at least 1 access mode is required"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(("spec.resources[storage]", "Required value"))
    if causes:
        raise invalid("PersistentVolumeClaim", obj["metadata"]["name"], causes)


def check_pvc_update(old: Obj, new: Obj) -> None:
    """PVC spec is immutable except a storage request that grows, and volumeName set once."""
    old_spec, new_spec = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    name = new["metadata"]["name"]
    old_size = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    new_size = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
    if old_size and new_size and _quantity(new_size) < _quantity(old_size):
        raise invalid(
            "PersistentVolumeClaim",
            name,
            [
                (
                    "spec.resources.requests.storage",
                    "Forbidden: field can not be less than previous value",
                )
            ],
        )
    for spec in (old_spec, new_spec):
        spec.pop("resources", None)
        spec.pop("volumeAttributesClassName", None)
    if not old_spec.get("volumeName"):
        old_spec.pop("volumeName", None)
        new_spec.pop("volumeName", None)
    if old_spec != new_spec:
        raise invalid(
            "PersistentVolumeClaim",
            name,
            [
                (
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests "
                    "and volumeAttributesClassName for bound claims",
                )
            ],
        )


COPY_METHODS = ("Direct", "None", "Clone", "Snapshot")
SCHEDULE = re.compile(r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$")
QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
    r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
MOVERS = ("restic", "rsync", "rsyncTLS", "rclone", "syncthing", "external")


def volsync_causes(obj: Obj) -> list[tuple[str, str]]:
    """What VolSync's CRD schema enforces at the API. It marks no spec field required
    (sourcePVC, capacity, accessModes are all optional there; VolSync has no admission
    webhook), so missing fields are the controller's business, not the API's."""
    spec = obj.get("spec", {})
    if not isinstance(spec, dict):
        return [
            ("spec", f'Invalid value: "{type(spec).__name__}": spec in body must be of type object')
        ]
    causes: list[tuple[str, str]] = []
    schedule = (spec.get("trigger") or {}).get("schedule")
    if schedule is not None and not SCHEDULE.match(str(schedule)):
        causes.append(
            (
                "spec.trigger.schedule",
                f'Invalid value: "{schedule}": spec.trigger.schedule in body should match '
                f"'{SCHEDULE.pattern}'",
            )
        )
    for mover in MOVERS:
        options = spec.get(mover)
        if not isinstance(options, dict):
            continue
        method = options.get("copyMethod")
        if method is not None and method not in COPY_METHODS:
            causes.append(
                (
                    f"spec.{mover}.copyMethod",
                    f'Unsupported value: "{method}": supported values: '
                    + ", ".join(f'"{m}"' for m in COPY_METHODS),
                )
            )
        if options.get("accessModes") == []:
            causes.append(
                (
                    f"spec.{mover}.accessModes",
                    f"Invalid value: 0: spec.{mover}.accessModes in body should have at "
                    "least 1 items",
                )
            )
        for field in ("capacity", "cacheCapacity"):
            value = options.get(field)
            if value is not None and not QUANTITY.match(str(value)):
                causes.append((f"spec.{mover}.{field}", f'Invalid value: "{value}"'))
    return causes


def check_volsync(resource: ResourceType, obj: Obj) -> None:
    if resource.kind not in ("ReplicationSource", "ReplicationDestination"):
        return
    if causes := volsync_causes(obj):
        raise invalid(resource.kind, obj["metadata"]["name"], causes, resource.group)


def validate(resource: ResourceType, obj: Obj, old: Obj | None) -> None:
    """Everything checked before an object is stored; raises 422 Invalid."""
    if not isinstance(obj.get("metadata"), dict):
        raise ApiError(400, "the object has no metadata")
    check_name(resource, obj)
    check_schema(resource, obj)
    check_volsync(resource, obj)
    if resource.kind == "PersistentVolumeClaim":
        check_pvc(obj)
    if old is not None and resource.kind == "PersistentVolumeClaim":
        check_pvc_update(old, obj)
