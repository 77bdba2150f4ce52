import { describe, expect, it } from 'vitest';
import { columnAsFloat32, exactRowId, type PropertyTableLike } from '../src/lib/properties';

/** A property table as 3d-tiles-renderer hands it over: one ArrayBuffer per buffer view. */
function table(count: number, columns: Record<string, { type: string; componentType?: string; bytes: ArrayBuffer }>): PropertyTableLike {
  const data: ArrayBuffer[] = [];
  const definition: PropertyTableLike['definition'] = { count, properties: {} };
  const properties: PropertyTableLike['properties'] = {};
  for (const [name, c] of Object.entries(columns)) {
    definition.properties[name] = { values: data.length };
    properties[name] = { type: c.type, componentType: c.componentType ?? null };
    data.push(c.bytes);
  }
  return { definition, properties, data };
}

describe('property table columns', () => {
  it('reads each component type as floats per point', () => {
    const t = table(3, {
      intensity: { type: 'SCALAR', componentType: 'UINT16', bytes: new Uint16Array([0, 4000, 65535]).buffer },
      angle: { type: 'SCALAR', componentType: 'INT16', bytes: new Int16Array([-5, 0, 7]).buffer },
      gps: { type: 'SCALAR', componentType: 'FLOAT64', bytes: new Float64Array([1.5, 2.5, 3.5]).buffer },
      big: { type: 'SCALAR', componentType: 'INT64', bytes: new BigInt64Array([1n, 2n ** 40n, 3n]).buffer },
    });
    expect(Array.from(columnAsFloat32(t, 'intensity', 3)!)).toEqual([0, 4000, 65535]);
    expect(Array.from(columnAsFloat32(t, 'angle', 3)!)).toEqual([-5, 0, 7]);
    expect(Array.from(columnAsFloat32(t, 'gps', 3)!)).toEqual([1.5, 2.5, 3.5]);
    expect(columnAsFloat32(t, 'big', 3)![1]).toBe(2 ** 40);
  });

  it('unpacks bit-packed booleans, least significant bit first', () => {
    // points 0..9: true at 0, 3, 8
    const t = table(10, { withheld: { type: 'BOOLEAN', bytes: new Uint8Array([0b00001001, 0b00000001]).buffer } });
    expect(Array.from(columnAsFloat32(t, 'withheld', 10)!)).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
  });

  it('reads only the points of a padded table, through feature ids when given', () => {
    // A meshopt-coded tile pads its table to 32 rows; the tile has 3 points.
    const values = new Uint8Array(32).fill(9);
    values.set([4, 5, 6]);
    const t = table(32, { classification: { type: 'SCALAR', componentType: 'UINT8', bytes: values.buffer } });
    expect(Array.from(columnAsFloat32(t, 'classification', 3)!)).toEqual([4, 5, 6]);
    expect(Array.from(columnAsFloat32(t, 'classification', 3, [2, 2, 0])!)).toEqual([6, 6, 4]);
  });

  it('answers null for a column the table does not have', () => {
    const t = table(1, { a: { type: 'STRING', bytes: new ArrayBuffer(1) } });
    expect(columnAsFloat32(t, 'missing', 1)).toBeNull();
    expect(columnAsFloat32(t, 'a', 1)).toBeNull();
  });
});

describe('row ids', () => {
  it('keeps ids past 2^24 exact (a float32 vertex attribute would not)', () => {
    const id = 2 ** 24 + 1;
    expect(Math.fround(id)).not.toBe(id);
    const uint32 = new Uint32Array([id]);
    expect(exactRowId(uint32[0])).toBe(id);
    expect(exactRowId(BigInt(id))).toBe(id);
    expect(exactRowId(2n ** 40n + 7n)).toBe(2 ** 40 + 7);
  });

  it('refuses what is not a row id', () => {
    expect(exactRowId(2n ** 60n)).toBeNull();
    expect(exactRowId(-1)).toBeNull();
    expect(exactRowId(1.5)).toBeNull();
    expect(exactRowId('12')).toBeNull();
    expect(exactRowId(undefined)).toBeNull();
  });
});
