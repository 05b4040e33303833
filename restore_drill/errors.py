"""The one exception tree of restore-drill.

Everything the harness raises on purpose derives from :class:`DrillError`, so callers
(the CLI, the pytest plugin, scripts) can catch one type and print one clear line.
"""

from __future__ import annotations


class DrillError(Exception):
    """Base of every error restore-drill raises on purpose."""


class UsageError(DrillError):
    """Bad input from a person: an unknown scenario, a malformed file, a wrong flag."""


class ScenarioError(UsageError):
    """A scenario file is invalid; the message names the file and the field."""


class BackendUnavailable(DrillError):
    """A cluster backend cannot run on this machine (e.g. no Docker engine for kind)."""


class RefusedDestructiveAction(DrillError):
    """The harness refused to delete something this run did not create."""


class KubeError(DrillError):
    """The Kubernetes API answered with an error the caller did not expect."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """The object does not exist (HTTP 404)."""


class Forbidden(KubeError):
    """The kubeconfig's identity may not do this (HTTP 401 or 403)."""


class Conflict(KubeError):
    """The object exists already, or changed under the write (HTTP 409)."""


class Gone(KubeError):
    """A watch's resourceVersion is too old (HTTP 410): list again, then watch."""


class Invalid(KubeError):
    """The API server rejected the object as invalid (HTTP 422)."""


class Unreachable(KubeError):
    """The API server did not answer (refused, reset, timed out), e.g. while it restarts."""


# What each HTTP status of the API server means to a caller; anything else is a KubeError.
HTTP_ERRORS: dict[int, type[KubeError]] = {
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


class WaitTimeout(DrillError):
    """A wait ran past its deadline; ``last_seen`` says what it observed last."""

    def __init__(self, what: str, waited_seconds: float, last_seen: str) -> None:
        super().__init__(
            f"timed out after {waited_seconds:.1f}s waiting for {what}; last seen: {last_seen}"
        )
        self.what = what
        self.waited_seconds = waited_seconds
        self.last_seen = last_seen


class RestoreTimeout(DrillError):
    """The measured recovery time exceeded the scenario's target."""

    def __init__(self, measured_seconds: float, target_seconds: float, detail: str = "") -> None:
        message = f"restore took {measured_seconds:.1f}s, target is {target_seconds:.0f}s"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.measured_seconds = measured_seconds
        self.target_seconds = target_seconds


class MoverFailed(DrillError):
    """A VolSync mover reported ``Failed`` (or its pods kept failing) for the drill's sync;
    ``cause`` is what its log says went wrong (restic's kinds: wrong-password, ...)."""

    def __init__(self, message: str, *, cause: str = "failed") -> None:
        super().__init__(message)
        self.cause = cause


class DiskFull(DrillError):
    """A disk filled up (no space left on device): this machine's, or a volume a data agent
    or mover wrote to; the message says which and during what."""


class AgentFailed(DrillError):
    """The data agent's Job failed on a PVC (its log tail is in the message)."""


class VerificationFailed(DrillError):
    """Restored data differs from what was written (missing, extra or changed entries)."""


class OutcomeMismatch(DrillError):
    """A drill ended otherwise than its scenario declares (a fault drill that recovered when
    it should fail loudly, or failed some other way)."""


class MeasurementError(DrillError):
    """The drill's own measurement cannot be trusted, so it cannot pass: no RTO or one of
    zero, its two clocks disagreeing, or a dataset smaller than the scenario asked for."""


class ObjectStoreError(DrillError):
    """The S3 object store could not be started, reached or used."""


class ResticError(DrillError):
    """A restic command failed; ``kind`` classifies why (wrong-password, no-repository, ...)."""

    def __init__(self, message: str, *, kind: str = "failed", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code


class CommandFailed(DrillError):
    """An external tool (kind, kubectl, helm, git) exited non-zero or ran past its timeout."""

    def __init__(self, message: str, *, program: str, exit_code: int | None) -> None:
        super().__init__(message)
        self.program = program
        self.exit_code = exit_code


class ImageBuildFailed(DrillError):
    """Building an image of the offline set failed; the message names the step and its log."""


class ImageMissing(BackendUnavailable):
    """A cluster needs an image that is neither built here nor allowed to be pulled."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``docker stop``, a cancelled CI job) arrived: the run stops the
    way Ctrl-C stops it, through the same teardown, and exits 143. A signal, not an error,
    so it is a KeyboardInterrupt rather than a DrillError."""
