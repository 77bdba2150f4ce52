"""Annotations: notes pinned to points of a scene, shared live with everyone who reads it
(docs/annotations.md)."""
