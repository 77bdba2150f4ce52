"""Scene exports: USDZ for Quick Look / RealityKit, 3TZ archives of tilesets."""
