"""How a dataset is drawn: the scene encoding model (column → colour, size, axes),
colormaps and palettes, and the streaming transform applying an encoding to Arrow batches.
Pure engine: no web, database or job imports."""
