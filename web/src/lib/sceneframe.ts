/**
 * From the viewer's tileset frame to the frame the query API speaks (the dataset's own x, y,
 * z; docs/scenes.md "Coordinate frame"). Pure.
 *
 * Tiles hold positions minus the tileset's centre (`extras.spatialviz.center`), so big map
 * coordinates keep their precision in float32. Without a root transform, adding the centre
 * back gives the dataset's coordinates. A georeferenced tileset's tiles are east-north-up
 * metres placed in ECEF by the root transform: no translation turns them into the dataset's
 * CRS (that takes pyproj), and a chart scene's tiles are in the chart box, whose axes need
 * not be the dataset's x/y/z: for those the box tool is not offered.
 */
export type Vec3 = [number, number, number];

export interface TilesetExtras {
  center?: unknown;
  georef?: unknown;
}

/** What to add to a tileset-frame coordinate to get the dataset's, or null when no shift does it. */
export function datasetOffset(frame: string | undefined, extras: TilesetExtras | null | undefined, hasRootTransform: boolean): Vec3 | null {
  if (frame === 'chart' || hasRootTransform || (extras?.georef ?? null) !== null) return null;
  const c = extras?.center;
  if (Array.isArray(c) && c.length === 3 && c.every((v) => typeof v === 'number' && Number.isFinite(v))) return [c[0], c[1], c[2]] as Vec3;
  return [0, 0, 0]; // tilesets written before the centre was recorded were not shifted
}

/**
 * What to add to a tile coordinate to get the scene frame the box query speaks (`frame:
 * "scene"`, docs/scenes.md): the tileset's recorded centre, for every kind of scene. The
 * server, not the client, maps that frame to the dataset's rows: east-north-up metres need
 * pyproj and the CRS, and are not axis-aligned in the source CRS (scene/sceneframe.py).
 */
export function sceneCenter(extras: TilesetExtras | null | undefined): Vec3 {
  const c = extras?.center;
  if (Array.isArray(c) && c.length === 3 && c.every((v) => typeof v === 'number' && Number.isFinite(v))) return [c[0], c[1], c[2]] as Vec3;
  return [0, 0, 0];
}

/** The middle half of a tile-frame extent, in the scene frame: the box tool's default box. */
export function defaultSceneBox(extent: { min: readonly number[]; max: readonly number[] }, center: Vec3): { min: Vec3; max: Vec3 } {
  const min = [0, 1, 2].map((i) => (3 * extent.min[i]! + extent.max[i]!) / 4);
  const max = [0, 1, 2].map((i) => (extent.min[i]! + 3 * extent.max[i]!) / 4);
  return { min: shift(min, center), max: shift(max, center) };
}

/** Names of the scene frame's axes, for the box tool's inputs (short: they head a narrow grid; the note says the unit). */
export function sceneAxisNames(frame: string | undefined, georeferenced: boolean): [string, string, string] {
  if (georeferenced && frame !== 'chart') return ['east', 'north', 'up'];
  return ['x', 'y', 'z'];
}

export function shift(v: readonly number[], by: Vec3, sign: 1 | -1 = 1): Vec3 {
  return [v[0]! + sign * by[0], v[1]! + sign * by[1], v[2]! + sign * by[2]];
}

/** x, y, z are positions, not property-table columns: their index, or null. */
export function positionAxis(column: string | null | undefined): 0 | 1 | 2 | null {
  return column === 'x' ? 0 : column === 'y' ? 1 : column === 'z' ? 2 : null;
}

/**
 * One value per point along `axis` of the tile frame: row `axis` of `matrix` (column-major
 * 4x4, the points' object → the tileset's content frame, which undoes glTF quantization)
 * applied to each position.
 */
export function positionValues(position: { count: number; getX(i: number): number; getY(i: number): number; getZ(i: number): number }, matrix: ArrayLike<number>, axis: 0 | 1 | 2): Float32Array {
  const a = matrix[axis]!, b = matrix[4 + axis]!, c = matrix[8 + axis]!, d = matrix[12 + axis]!;
  const out = new Float32Array(position.count);
  for (let i = 0; i < position.count; i++) out[i] = a * position.getX(i) + b * position.getY(i) + c * position.getZ(i) + d;
  return out;
}

/** The extent along `axis` of a 3D Tiles `box` bounding volume (centre + three half-axes). */
export function boxAxisRange(box: readonly number[], axis: 0 | 1 | 2): [number, number] {
  const half = Math.abs(box[3 + axis]!) + Math.abs(box[6 + axis]!) + Math.abs(box[9 + axis]!);
  return [box[axis]! - half, box[axis]! + half];
}
