"""restore-drill: end-to-end restore drills for VolSync-protected Kubernetes volumes."""

__version__ = "0.1.0"
