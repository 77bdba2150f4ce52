"""Scenes: how a dataset is drawn, queried, delivered and exported.

Pure building blocks (no web, DB or job imports):

- :mod:`.encoding`   the scene encoding model, validation against a dataset schema, defaults
- :mod:`.colormaps`  continuous colormaps and categorical palettes (vectorised)
- :mod:`.transform`  encoding applied to Arrow batches, streaming; chart axes and ticks
- :mod:`.parquet_stats` column min/max from Parquet footers
- :mod:`.query`      spatial index + pick / box / sphere / knn with limits
- :mod:`.signing`    tile URL signatures and share-link tokens (HMAC, no DB on the hot path)
- :mod:`.delivery`   ETag, conditional requests, byte ranges, content types, cache lifetimes
- :mod:`.exports.usdz`    USDZ for Quick Look / RealityKit
- :mod:`.exports.archive` 3D Tiles archives (.3tz)
"""
