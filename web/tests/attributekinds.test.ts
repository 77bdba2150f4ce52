import { describe, expect, it } from 'vitest';
import { categoryLabel, countCodes, shownCount, typedAttributes } from '../src/lib/attributekinds';
import type { SceneAttribute } from '../src/lib/types';

const c = (name: string, min: number, max: number): SceneAttribute => ({ name, kind: 'continuous', min, max });

describe('typedAttributes', () => {
  // As the API describes the demo's LAS scene.
  const demo = [
    c('x', 499997.6, 500355.4), c('z', 35.1, 77.4), c('intensity', 0, 2592),
    c('return_number', 0, 0), c('number_of_returns', 0, 0), c('scan_direction_flag', 0, 0),
    c('edge_of_flight_line', 0, 0), c('classification', 2, 6), c('synthetic', 0, 0), c('key_point', 0, 0),
    c('withheld', 0, 0), c('scan_angle', 0, 0), c('user_data', 0, 0), c('point_source_id', 0, 0),
  ];

  it('hides attributes that are the same everywhere', () => {
    expect(typedAttributes(demo).map((a) => a.name)).toEqual(['x', 'z', 'intensity', 'classification']);
  });

  it('colours LAS codes by category, measurements by colormap', () => {
    const kinds = Object.fromEntries(typedAttributes([...demo, c('return_number', 1, 3)]).map((a) => [a.name, a.kind]));
    expect(kinds).toEqual({ x: 'continuous', z: 'continuous', intensity: 'continuous', classification: 'categorical', return_number: 'categorical' });
  });
});

describe('categoryLabel', () => {
  it('names ASPRS classes', () => {
    expect(categoryLabel('classification', 2)).toBe('Ground (2)');
    expect(categoryLabel('classification', 6)).toBe('Building (6)');
    expect(categoryLabel('classification', 40)).toBe('Reserved (40)');
    expect(categoryLabel('classification', 70)).toBe('User defined (70)');
    expect(categoryLabel('return_number', 2)).toBe('2');
  });
});

describe('countCodes', () => {
  it('counts each code over every tile', () => {
    const counts = countCodes([new Float32Array([2, 2, 6]), [5, 2.0000001]]);
    expect(Object.fromEntries(counts)).toEqual({ 2: 3, 5: 1, 6: 1 });
  });
});

describe('shownCount', () => {
  it('drops exactly the points of hidden codes', () => {
    const clouds = [
      { size: 5, codes: new Uint16Array([0, 1, 1, 2, 5]) },
      { size: 3, codes: new Float32Array([1.0000001, 0, 2]) },
      { size: 4, codes: null }, // no codes: drawn whole
    ];
    expect(shownCount(clouds, new Set())).toBe(12);
    expect(shownCount(clouds, new Set([1]))).toBe(9);
    expect(shownCount(clouds, new Set([1, 2]))).toBe(7);
  });

  it('cannot hide codes the shader cannot (past 255)', () => {
    expect(shownCount([{ size: 2, codes: [256, 3] }], new Set([256, 3]))).toBe(1);
  });
});
