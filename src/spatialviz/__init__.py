"""Spatialviz: datasets in, level-of-detail 3D Tiles out."""

__version__ = "0.1.0"
