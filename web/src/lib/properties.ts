/**
 * Per-point values from a tile's EXT_structural_metadata property table. The tiler writes
 * POSITION and COLOR_0 as the only vertex attributes (WebGL guarantees 16 per draw; a
 * vertex attribute cannot hold a float64 or a 64-bit id): every other value is a typed table
 * column, row i for point i (implicit feature ids). To colour by a value the viewer turns
 * its column into a float attribute once per tile; a pick reads the row id from the table,
 * exact for any cloud size. Pure.
 */

/** The parts of 3d-tiles-renderer's PropertyTableAccessor we read. */
export interface PropertyTableLike {
  definition: { count: number; properties: Record<string, { values: number } | undefined> };
  properties: Record<string, { type: string; componentType?: string | null } | undefined>;
  data: ArrayLike<ArrayBufferLike | null | undefined>;
}

type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const ARRAYS: Record<string, new (buffer: ArrayBufferLike, offset: number, length: number) => NumericArray> = {
  INT8: Int8Array,
  UINT8: Uint8Array,
  INT16: Int16Array,
  UINT16: Uint16Array,
  INT32: Int32Array,
  UINT32: Uint32Array,
  INT64: BigInt64Array,
  UINT64: BigUint64Array,
  FLOAT32: Float32Array,
  FLOAT64: Float64Array,
};

/**
 * The column `name` as one float per point (`rows[i]`: the table row of point i, default i),
 * or null when the table has no such scalar column. Floats are what a shader compares to
 * the colour range; the table itself keeps the exact values.
 */
export function columnAsFloat32(
  table: PropertyTableLike,
  name: string,
  points: number,
  rows?: ArrayLike<number>,
): Float32Array | null {
  const property = table.properties[name];
  const stored = table.definition.properties[name];
  if (!property || !stored) return null;
  const buffer = table.data[stored.values];
  if (!buffer) return null;
  const count = table.definition.count;
  const out = new Float32Array(points);
  const row = (i: number): number => (rows ? (rows[i] ?? 0) : i);
  if (property.type === 'BOOLEAN') {
    const bytes = new Uint8Array(buffer, 0, Math.ceil(count / 8));
    for (let i = 0; i < points; i++) {
      const r = row(i);
      out[i] = ((bytes[r >> 3] ?? 0) >> (r & 7)) & 1;
    }
    return out;
  }
  const make = property.type === 'SCALAR' ? ARRAYS[property.componentType ?? ''] : undefined;
  if (!make) return null;
  const values = new make(buffer, 0, count);
  for (let i = 0; i < points; i++) out[i] = Number(values[row(i)] ?? 0);
  return out;
}

/** A row id read from a table (number or, for 64-bit columns, bigint) as an exact number. */
export function exactRowId(value: unknown): number | null {
  if (typeof value === 'bigint') {
    return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return null;
}
