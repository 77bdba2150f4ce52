"""Dataset errors, each with its HTTP status."""

from __future__ import annotations

from spatialviz.kit.errors import NotFound, SpatialvizError, UnprocessableEntity


class DatasetNotFound(NotFound):
    code = "dataset_not_found"
    title = "Dataset not found"


class UploadNotFound(NotFound):
    code = "upload_not_found"
    title = "Upload not found"


class EmptyUpload(UnprocessableEntity):
    code = "empty_file"
    title = "Empty file"


class BadFilename(UnprocessableEntity):
    code = "bad_filename"
    title = "Invalid filename"


class UnsupportedArchive(SpatialvizError):
    status = 415
    code = "archive_not_supported"
    title = "Archives are not supported"
