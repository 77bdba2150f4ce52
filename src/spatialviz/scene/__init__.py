"""Scenes: a dataset drawn with an encoding, tiled in the background, delivered signed,
shared, queried and exported. The pure engines it drives live beside it: ``styling/``
(encodings, colormaps, transform), ``spatialindex/``, ``signing/``, ``blobhttp/`` and
``writers/`` (USDZ, 3TZ)."""
