"""Annotation errors, each with its HTTP status."""

from __future__ import annotations

from spatialviz.kit.errors import Conflict, Forbidden, NotFound


class AnnotationNotFound(NotFound):
    code = "annotation_not_found"
    title = "Annotation not found"


class AnnotationLimitReached(Conflict):
    code = "annotation_limit_reached"
    title = "The scene has as many annotations as it may"


class NotYourAnnotation(Forbidden):
    code = "not_your_annotation"
    title = "Only its author or a workspace owner may remove an annotation"
