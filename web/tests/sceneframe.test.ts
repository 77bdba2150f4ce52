import { describe, expect, it } from 'vitest';
import { boxAxisRange, datasetOffset, defaultSceneBox, positionAxis, positionValues, sceneAxisNames, sceneCenter, shift } from '../src/lib/sceneframe';

describe('datasetOffset', () => {
  const demo = { center: [500176.5445, 4000176.686, 56.2475], georef: null };

  it("is the tileset's centre for a scene in the dataset frame", () => {
    expect(datasetOffset('dataset', demo, false)).toEqual([500176.5445, 4000176.686, 56.2475]);
  });

  it('turns the middle of the drawn bounds into dataset coordinates the server finds points in', () => {
    // The demo's tile-frame bounds are centred on 0; its points lie around the centre.
    const offset = datasetOffset('dataset', demo, false)!;
    const min = shift([-44.7, -45.2, -5.3], offset);
    const max = shift([44.7, 45.2, 5.3], offset);
    expect(min[0]).toBeGreaterThan(499997.649);
    expect(max[0]).toBeLessThan(500355.44);
    expect(min[2]).toBeGreaterThan(35);
    expect(shift(min, offset, -1)[0]).toBeCloseTo(-44.7, 6);
  });

  it('is null where no translation gives the dataset frame', () => {
    expect(datasetOffset('chart', demo, false)).toBeNull();
    expect(datasetOffset('dataset', demo, true)).toBeNull();
    expect(datasetOffset('dataset', { center: [0, 0, 0], georef: { epsg: 2992 } }, false)).toBeNull();
  });

  it('is zero for tilesets without a recorded centre', () => {
    expect(datasetOffset('dataset', {}, false)).toEqual([0, 0, 0]);
  });
});

describe('colouring by position', () => {
  const positions = (xyz: number[][]) => ({
    count: xyz.length,
    getX: (i: number) => xyz[i]![0]!,
    getY: (i: number) => xyz[i]![1]!,
    getZ: (i: number) => xyz[i]![2]!,
  });

  it('knows x, y and z are positions', () => {
    expect([positionAxis('x'), positionAxis('y'), positionAxis('z'), positionAxis('intensity')]).toEqual([0, 1, 2, null]);
  });

  it('gives each point its own elevation, not one value for all', () => {
    // A quantized tile: uint16-like positions, scaled and translated by the node matrix.
    const m = [0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.01, 0, -10, -20, 30, 1];
    const z = positionValues(positions([[0, 0, 0], [0, 0, 100], [4, 4, 200]]), m, 2);
    expect(Array.from(z)).toEqual([30, 31, 32]);
    expect(new Set(z).size).toBe(3);
    expect(Array.from(positionValues(positions([[4, 6, 0]]), m, 0))).toEqual([-8]);
  });

  it("reads an axis' extent from the root bounding box", () => {
    const demoRoot = [0, 0, 0, 178.9, 0, 0, 0, 180.6, 0, 0, 0, 21.17];
    expect(boxAxisRange(demoRoot, 2)).toEqual([-21.17, 21.17]);
    expect(boxAxisRange([1, 2, 3, 0, 2, 0, 1, 0, 0, 0, 0, 4], 0)).toEqual([0, 2]);
  });
});

describe('the scene frame of box queries', () => {
  it("is the tile frame plus the tileset's centre, for every kind of scene", () => {
    expect(sceneCenter({ center: [0.5, 1, 0.5], georef: null })).toEqual([0.5, 1, 0.5]);
    expect(sceneCenter({ center: [1.5, -2, 3], georef: { epsg: 32610 } })).toEqual([1.5, -2, 3]);
    expect(sceneCenter({ center: [1, 'x', 3] })).toEqual([0, 0, 0]);
    expect(sceneCenter(null)).toEqual([0, 0, 0]);
  });

  it('defaults to the middle half of the tile-frame extent, shifted into the scene frame', () => {
    // A chart of size 1 x 2 x 1: tiles centred on (0.5, 1, 0.5).
    const box = defaultSceneBox({ min: [-0.5, -1, -0.5], max: [0.5, 1, 0.5] }, [0.5, 1, 0.5]);
    expect(box.min).toEqual([0.25, 0.5, 0.25]);
    expect(box.max).toEqual([0.75, 1.5, 0.75]);
  });

  it('names the axes by what the scene draws', () => {
    expect(sceneAxisNames('chart', false)).toEqual(['x', 'y', 'z']);
    expect(sceneAxisNames('dataset', true)).toEqual(['east', 'north', 'up']);
    expect(sceneAxisNames('dataset', false)).toEqual(['x', 'y', 'z']);
  });
});
