import { describe, expect, it } from 'vitest';
import { tileColorSpace } from '../src/lib/colorspace';

describe('tile colour space', () => {
  it('is linear when our tileset says so, or for a foreign tileset (glTF)', () => {
    expect(tileColorSpace({ extras: { spatialviz: { center: [0, 0, 0], color_space: 'linear' } } })).toBe('linear');
    expect(tileColorSpace({ asset: { version: '1.1' } })).toBe('linear');
    expect(tileColorSpace(null)).toBe('linear');
  });
  it('is sRGB for our tilesets written before the key existed', () => {
    expect(tileColorSpace({ extras: { spatialviz: { center: [0, 0, 0] } } })).toBe('srgb');
  });
});
