import { describe, expect, it } from 'vitest';
import {
  CATEGORICAL_PALETTE, COLORMAPS, categoryColor, colormapLUT, cssGradient, luminance, sampleColormap, toCss,
} from '../src/lib/colormap';

describe('colormaps', () => {
  it('viridis has the published endpoints', () => {
    expect(toCss(sampleColormap('viridis', 0))).toBe('#440154');
    expect(toCss(sampleColormap('viridis', 1))).toBe('#fde725');
    expect(toCss(sampleColormap('viridis', 0.5))).toBe('#21918c');
  });

  it('magma has the published endpoints', () => {
    expect(toCss(sampleColormap('magma', 0))).toBe('#000004');
    expect(toCss(sampleColormap('magma', 1))).toBe('#fcfdbf');
  });

  it('clamps out-of-range and NaN input', () => {
    expect(sampleColormap('viridis', -3)).toEqual(sampleColormap('viridis', 0));
    expect(sampleColormap('viridis', 7)).toEqual(sampleColormap('viridis', 1));
    expect(sampleColormap('viridis', Number.NaN)).toEqual(sampleColormap('viridis', 0));
  });

  it('falls back to viridis for an unknown name', () => {
    expect(sampleColormap('nope', 0.3)).toEqual(sampleColormap('viridis', 0.3));
  });

  // turbo is a rainbow (brightest in the middle), so it is left out.
  it.each(COLORMAPS.filter((m) => m !== 'turbo'))('%s gets lighter monotonically from 0 to 1', (name) => {
    let previous = -1;
    for (let i = 0; i <= 200; i++) {
      const l = luminance(sampleColormap(name, i / 200));
      expect(l).toBeGreaterThanOrEqual(previous - 1e-9);
      previous = l;
    }
  });

  it('interpolates linearly between stops', () => {
    const a = sampleColormap('grey', 0.25);
    expect(a[0]).toBeCloseTo(63.75);
  });

  it('builds an RGBA lookup table with the endpoints at both ends', () => {
    const lut = colormapLUT('viridis', 256);
    expect(lut.length).toBe(1024);
    expect(Array.from(lut.slice(0, 4))).toEqual([68, 1, 84, 255]);
    expect(Array.from(lut.slice(1020))).toEqual([253, 231, 37, 255]);
  });

  it('cycles the categorical palette, also for negative codes', () => {
    expect(categoryColor(0)).toEqual(CATEGORICAL_PALETTE[0]);
    expect(categoryColor(10)).toEqual(CATEGORICAL_PALETTE[0]);
    expect(categoryColor(-1)).toEqual(CATEGORICAL_PALETTE[9]);
    expect(new Set(CATEGORICAL_PALETTE.map(toCss)).size).toBe(CATEGORICAL_PALETTE.length);
  });

  it('renders a CSS gradient from min to max', () => {
    const g = cssGradient('viridis', 3);
    expect(g).toBe('linear-gradient(to right, #440154 0%, #21918c 50%, #fde725 100%)');
  });
});
