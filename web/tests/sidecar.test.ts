import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { columnAsFloat32 } from '../src/lib/properties';
import { parseSidecar, sidecarUri } from '../src/lib/sidecar';

/** Written by the tiler (tests/tiling/test_sidecar_fixture.py keeps them current): 40 points. */
function fixture(compression: 'none' | 'meshopt'): ArrayBuffer {
  const bytes = readFileSync(new URL(`./fixtures/sidecar-${compression}.attrs.glb`, import.meta.url));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

const POINTS = 40;
const range = (f: (i: number) => number) => Array.from({ length: POINTS }, (_, i) => f(i));

describe('tile sidecars', () => {
  it.each(['none', 'meshopt'] as const)('decode the tiler\'s %s sidecar into a property table', async (compression) => {
    await MeshoptDecoder.ready;
    const table = parseSidecar(fixture(compression), MeshoptDecoder.decodeGltfBuffer);
    expect(Object.keys(table.definition.properties).sort()).toEqual(['gps_time', 'intensity', 'key_point']);
    expect(Array.from(columnAsFloat32(table, 'intensity', POINTS)!)).toEqual(range((i) => i * 1000));
    expect(Array.from(columnAsFloat32(table, 'key_point', POINTS)!)).toEqual(range((i) => (i % 3 === 0 ? 1 : 0)));
    // Float64 kept: GPS time's quarter seconds survive (the float32 copy rounds them).
    expect(table.properties.gps_time?.componentType).toBe('FLOAT64');
    expect(Array.from(columnAsFloat32(table, 'gps_time', POINTS)!)).toEqual(range((i) => Math.fround(1e9 + i / 4)));
  });

  it('refuses a meshopt sidecar without a decoder, and what is not a GLB', () => {
    expect(() => parseSidecar(fixture('meshopt'), null)).toThrow(/decoder/);
    expect(() => parseSidecar(new ArrayBuffer(32), null)).toThrow(/not a GLB/);
  });

  it('resolves the extras URI against the tile\'s tileset folder', () => {
    const tile = { extras: { spatialviz: { attributes: 'tiles/1-0-0-0.attrs.glb' } }, internal: { basePath: 'http://h/api/v1/scenes/s' } };
    expect(sidecarUri(tile)).toBe('http://h/api/v1/scenes/s/tiles/1-0-0-0.attrs.glb');
    expect(sidecarUri({ extras: {}, internal: { basePath: 'http://h/x' } })).toBeNull();
    expect(sidecarUri({})).toBeNull();
  });
});
