"""Export writers: USDZ for Quick Look / RealityKit, 3TZ archives of tilesets.
Pure engine: no web, database or job imports."""
