import { describe, expect, it } from 'vitest';
import { binProfile, collectProfile, profileLine, projectOnLine, thin } from '../src/lib/profile';
import type { P3 } from '../src/lib/measure';

describe('profile line', () => {
  it('measures its horizontal length and skips repeated points', () => {
    const line = profileLine([[0, 0, 5], [3, 4, 100], [3, 4, 0], [3, 10, 0]]);
    expect(line.length).toBe(11);
    expect(line.segments.map((s) => s.start)).toEqual([0, 5]);
  });

  it('places a point along the line when it is inside the corridor', () => {
    const line = profileLine([[0, 0, 0], [10, 0, 0], [10, 10, 0]]);
    expect(projectOnLine(line, 4, 0.5, 1)).toEqual({ along: 4, offset: 0.5 });
    expect(projectOnLine(line, 4, -1.5, 1)).toBeNull();
    expect(projectOnLine(line, 10.5, 3, 1)).toEqual({ along: 13, offset: 0.5 });
    expect(projectOnLine(line, -0.5, 0, 1)).toBeNull(); // before the start
  });

  it('at a bend takes the nearer segment', () => {
    const line = profileLine([[0, 0, 0], [10, 0, 0], [10, 10, 0]]);
    // (9.8, 0.5): 0.5 from the first segment, 0.2 from the second.
    const hit = projectOnLine(line, 9.8, 0.5, 1);
    expect(hit?.along).toBe(10.5);
    expect(hit?.offset).toBeCloseTo(0.2, 12);
  });
});

describe('collectProfile and binProfile', () => {
  const line = profileLine([[0, 0, 0], [10, 0, 0]]);
  const cloud: P3[] = [];
  for (let x = 0; x < 10; x += 0.5) for (const y of [-2, -0.25, 0.25, 2]) cloud.push([x + 0.25, y, x]); // a ramp z = x

  it('keeps the points within half the width, with their height', () => {
    const samples = collectProfile(line, 0.5, cloud);
    expect(samples).toHaveLength(40);
    expect(samples.every((s) => Math.abs(s.height - (s.along - 0.25)) < 1e-12)).toBe(true);
    expect(collectProfile(line, 0.5, cloud, 7)).toHaveLength(7);
  });

  it('bins along the line: counts, min, max, mean; empty bins are NaN', () => {
    const bins = binProfile(collectProfile(line, 0.5, cloud), line.length, 5);
    expect(bins.map((b) => b.count)).toEqual([8, 8, 8, 8, 8]);
    expect(bins[0]).toMatchObject({ from: 0, to: 2, min: 0, max: 1.5, mean: 0.75 });
    const sparse = binProfile([{ along: 9.9, height: 3, offset: 0 }], 10, 2);
    expect(sparse[0]!.count).toBe(0);
    expect(sparse[0]!.mean).toBeNaN();
    expect(sparse[1]).toMatchObject({ count: 1, min: 3, max: 3, mean: 3 });
  });

  it('puts a sample at the very end into the last bin', () => {
    expect(binProfile([{ along: 10, height: 1, offset: 0 }], 10, 4)[3]!.count).toBe(1);
  });
});

describe('thin', () => {
  it('strides evenly down to the limit', () => {
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    expect(thin([1, 2], 5)).toEqual([1, 2]);
  });
});
