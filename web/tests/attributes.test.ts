import { describe, expect, it } from 'vitest';
import { axisPosition, gltfAttributeName, normalise, threeAttributeName } from '../src/lib/attributes';
import { parseRoute } from '../src/router';

describe('attribute names', () => {
  it('maps columns to glTF and three.js attribute names', () => {
    expect(gltfAttributeName('row_id')).toBe('_ROW_ID');
    expect(gltfAttributeName('intensity')).toBe('_INTENSITY');
    expect(gltfAttributeName('Temp (C)')).toBe('_TEMP__C_');
    expect(threeAttributeName('classification')).toBe('_classification');
  });
  it('normalises values like the shader', () => {
    expect(normalise(5, 0, 10)).toBe(0.5);
    expect(normalise(-1, 0, 10)).toBe(0);
    expect(normalise(3, 3, 3)).toBe(0);
  });
  it('places axis ticks inside the tileset box', () => {
    expect(axisPosition(2000, 1990, 2010, -5, 5)).toBe(0);
    expect(axisPosition(1, 1, 1, -5, 5)).toBe(-5);
  });
});

describe('routes', () => {
  it('parses the client routes', () => {
    expect(parseRoute('/', '')).toEqual({ name: 'home' });
    expect(parseRoute('/login', '')).toEqual({ name: 'login' });
    expect(parseRoute('/scenes/abc', '?share=tok')).toEqual({ name: 'scene', id: 'abc', share: 'tok' });
    expect(parseRoute('/datasets/d1', '')).toEqual({ name: 'dataset', id: 'd1' });
    expect(parseRoute('/what/ever', '').name).toBe('not-found');
  });
});
