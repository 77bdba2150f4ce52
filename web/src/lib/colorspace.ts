/**
 * Which encoding a tileset's COLOR_0 bytes are in. glTF defines COLOR_0 as linear, and our
 * tiler writes linear colour and says so (`extras.spatialviz.color_space: "linear"`). Our
 * tilesets from before that key hold the file's sRGB bytes: only those need decoding.
 * Anyone else's tileset follows glTF.
 */
export type TileColorSpace = 'linear' | 'srgb';

export function tileColorSpace(tileset: unknown): TileColorSpace {
  const extras = (tileset as { extras?: { spatialviz?: { color_space?: unknown } } } | null)?.extras;
  const ours = extras?.spatialviz;
  if (ours === undefined || ours === null) return 'linear';
  return ours.color_space === 'linear' ? 'linear' : 'srgb';
}
