"""The sim backend's Kubernetes API server (in memory; a restart is a new, empty cluster)."""

from restore_drill.clusters.sim.api.server import SimApiServer

__all__ = ["SimApiServer"]
