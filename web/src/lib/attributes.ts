/**
 * Which glTF vertex attribute carried a scene attribute in tilesets written before every
 * per-point value moved to the tile's property table (lib/properties.ts): one custom
 * attribute per value, named "_" + the column name upper-cased with anything outside
 * [A-Z0-9_] replaced by "_" (glTF custom attributes must start with an underscore): row_id →
 * _ROW_ID, intensity → _INTENSITY, "Temp (C)" → _TEMP__C_. three.js' GLTFLoader lower-cases
 * custom attribute names, so the viewer reads geometry attribute "_row_id". Pure.
 */

export const ROW_ID = 'row_id';

export function gltfAttributeName(column: string): string {
  return `_${column.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

export function threeAttributeName(column: string): string {
  return gltfAttributeName(column).toLowerCase();
}

/** Maps a value to 0..1 across [min, max] the way the shader does (for tests and the legend). */
export function normalise(value: number, min: number, max: number): number {
  if (!(max > min)) return 0;
  return Math.min(1, Math.max(0, (value - min) / (max - min)));
}

/** Linear position along an axis: a data value → a coordinate inside [lo, hi] of the tileset box. */
export function axisPosition(value: number, axisMin: number, axisMax: number, lo: number, hi: number): number {
  if (!(axisMax > axisMin)) return lo;
  return lo + ((value - axisMin) / (axisMax - axisMin)) * (hi - lo);
}
