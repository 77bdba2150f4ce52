import { describe, expect, it } from 'vitest';
import { NO_CLIP, axisPlane, clipKeeps, countKept, insideBox, middleHalf, type ClipState } from '../src/lib/clip';
import type { P3 } from '../src/lib/measure';

const box = (mode: ClipState['mode']): ClipState => ({ mode, min: [0, 0, 0], max: [10, 10, 10], planes: [] });
const positions = (xyz: number[][]) => ({
  count: xyz.length,
  getX: (i: number) => xyz[i]![0]!,
  getY: (i: number) => xyz[i]![1]!,
  getZ: (i: number) => xyz[i]![2]!,
});
const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe('clip box', () => {
  it('inside keeps the points in the box (edges included), outside the others, off all', () => {
    const pts: P3[] = [[5, 5, 5], [0, 10, 0], [11, 5, 5], [-0.001, 5, 5]];
    expect(pts.map((p) => clipKeeps(p, box('inside')))).toEqual([true, true, false, false]);
    expect(pts.map((p) => clipKeeps(p, box('outside')))).toEqual([false, false, true, true]);
    expect(pts.every((p) => clipKeeps(p, box('off')))).toBe(true);
    expect(insideBox([10, 10, 10], [0, 0, 0], [10, 10, 10])).toBe(true);
  });
});

describe('clip planes', () => {
  it('keep below or above a value along an axis', () => {
    const below = { ...NO_CLIP, planes: [axisPlane(2, 3, 'below')] };
    const above = { ...NO_CLIP, planes: [axisPlane(2, 3, 'above')] };
    expect(clipKeeps([0, 0, 2], below)).toBe(true);
    expect(clipKeeps([0, 0, 4], below)).toBe(false);
    expect(clipKeeps([0, 0, 2], above)).toBe(false);
    expect(clipKeeps([0, 0, 4], above)).toBe(true);
  });

  it('combine with the box: every plane and the box must keep a point', () => {
    const clip: ClipState = { ...box('inside'), planes: [axisPlane(0, 5, 'below'), axisPlane(1, 2, 'above')] };
    expect(clipKeeps([4, 3, 1], clip)).toBe(true);
    expect(clipKeeps([6, 3, 1], clip)).toBe(false);
    expect(clipKeeps([4, 1, 1], clip)).toBe(false);
    expect(clipKeeps([4, 3, 11], clip)).toBe(false);
  });
});

describe('countKept', () => {
  const cloud = positions([[1, 1, 1], [5, 5, 5], [20, 20, 20], [9, 9, 9]]);

  it('counts what the shader would draw; all with no clip', () => {
    expect(countKept(cloud, IDENTITY, NO_CLIP)).toBe(4);
    expect(countKept(cloud, IDENTITY, box('inside'))).toBe(3);
    expect(countKept(cloud, IDENTITY, box('outside'))).toBe(1);
  });

  it('takes positions to the measuring frame first (a shifted tile)', () => {
    const shifted = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 100, 0, 0, 1]; // +100 in x
    expect(countKept(cloud, shifted, box('inside'))).toBe(0);
  });
});

describe('middleHalf', () => {
  it('is the middle half along every axis', () => {
    expect(middleHalf([0, 0, 0], [8, 4, 40])).toEqual({ min: [2, 1, 10], max: [6, 3, 30] });
  });
});
