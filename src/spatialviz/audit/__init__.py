"""The audit log: who did what to which object, readable by workspace owners."""

from spatialviz.audit.service import record_audit

__all__ = ["record_audit"]
