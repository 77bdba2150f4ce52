import { describe, expect, it } from 'vitest';
import { bookmarkKey, loadBookmarks, MAX_BOOKMARKS, removeBookmark, saveBookmark, type StorageLike } from '../src/lib/bookmarks';
import { easeInOut, flightMs, poseAt, poseLookingAt, type Pose } from '../src/lib/flyto';
import { adaptiveSize, attenuatedSize, sizeChanged } from '../src/lib/pointsize';

class MemoryStorage implements StorageLike {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

const pose = (p: [number, number, number], t: [number, number, number] = [0, 0, 0]): Pose => ({ position: p, target: t });

describe('bookmarks', () => {
  it('saves, replaces by name, forgets, per scene', () => {
    const s = new MemoryStorage();
    let list = saveBookmark(s, 'A', [], { name: ' Top ', ...pose([0, 10, 0]) });
    list = saveBookmark(s, 'A', list, { name: 'Side', ...pose([10, 0, 0]) });
    list = saveBookmark(s, 'A', list, { name: 'Top', ...pose([0, 20, 0]) });
    expect(list.map((b) => b.name)).toEqual(['Side', 'Top']);
    expect(loadBookmarks(s, 'A').find((b) => b.name === 'Top')?.position).toEqual([0, 20, 0]);
    expect(loadBookmarks(s, 'B')).toEqual([]);
    expect(removeBookmark(s, 'A', list, 'Side').map((b) => b.name)).toEqual(['Top']);
    expect(loadBookmarks(s, 'A').map((b) => b.name)).toEqual(['Top']);
  });

  it('names unnamed views and keeps the newest within the limit', () => {
    const s = new MemoryStorage();
    let list = saveBookmark(s, 'A', [], { name: '  ', ...pose([1, 1, 1]) });
    expect(list[0]!.name).toBe('View 1');
    for (let i = 0; i < MAX_BOOKMARKS + 5; i++) list = saveBookmark(s, 'A', list, { name: `v${i}`, ...pose([i, 0, 0]) });
    expect(list).toHaveLength(MAX_BOOKMARKS);
    expect(list.at(-1)!.name).toBe(`v${MAX_BOOKMARKS + 4}`);
  });

  it('drops malformed saved data instead of failing', () => {
    const s = new MemoryStorage();
    s.setItem(bookmarkKey('A'), 'not json');
    expect(loadBookmarks(s, 'A')).toEqual([]);
    s.setItem(bookmarkKey('A'), JSON.stringify([{ name: 'ok', position: [1, 2, 3], target: [0, 0, 0] }, { name: 'bad', position: [1, 2], target: [0, 0, 0] }, { name: 'nan', position: [null, 0, 0], target: [0, 0, 0] }]));
    expect(loadBookmarks(s, 'A').map((b) => b.name)).toEqual(['ok']);
  });

  it('keeps the list in the page when storage refuses', () => {
    const full: StorageLike = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(saveBookmark(full, 'A', [], { name: 'x', ...pose([1, 1, 1]) })).toHaveLength(1);
  });
});

describe('fly-to', () => {
  it('eases from 0 to 1, symmetric, clamped', () => {
    expect(easeInOut(0)).toBe(0);
    expect(easeInOut(1)).toBe(1);
    expect(easeInOut(0.5)).toBeCloseTo(0.5);
    expect(easeInOut(0.25) + easeInOut(0.75)).toBeCloseTo(1);
    expect(easeInOut(-1)).toBe(0);
    expect(easeInOut(2)).toBe(1);
  });

  it('interpolates position and target and arrives exactly', () => {
    const from = pose([0, 0, 10], [0, 0, 0]);
    const to = pose([10, 0, 0], [5, 5, 5]);
    expect(poseAt(from, to, 0, 1000)).toEqual(from);
    expect(poseAt(from, to, 1000, 1000)).toEqual(to);
    expect(poseAt(from, to, 5000, 1000)).toEqual(to);
    const mid = poseAt(from, to, 500, 1000);
    expect(mid.position[0]).toBeCloseTo(5);
    expect(mid.target[1]).toBeCloseTo(2.5);
  });

  it('looks at a point from the current side, at the given distance', () => {
    const next = poseLookingAt(pose([0, 0, 10], [0, 0, 0]), [100, 0, 0], 2);
    expect(next.target).toEqual([100, 0, 0]);
    expect(next.position).toEqual([100, 0, 2]);
    const degenerate = poseLookingAt(pose([1, 1, 1], [1, 1, 1]), [0, 0, 0], Math.SQRT2);
    expect(Math.hypot(...degenerate.position)).toBeCloseTo(Math.SQRT2);
  });

  it('takes longer for longer trips, within bounds', () => {
    const near = flightMs(pose([0, 0, 0]), pose([0.1, 0, 0]), 10);
    const far = flightMs(pose([0, 0, 0]), pose([100, 0, 0]), 10);
    expect(near).toBeGreaterThanOrEqual(400);
    expect(far).toBeGreaterThan(near);
    expect(far).toBeLessThanOrEqual(1500);
  });
});

describe('point size modes', () => {
  it('attenuated: base pixels at the reference distance', () => {
    const size = attenuatedSize(4, 50, 800);
    // three.js draws size * (height / 2) / depth pixels.
    expect((size * 400) / 50).toBeCloseTo(4);
    expect((size * 400) / 100).toBeCloseTo(2);
  });

  it('adaptive: bigger when few points cover the canvas, smaller when many, bounded', () => {
    const canvas = 1000 * 1000;
    const coarse = adaptiveSize(2, canvas, 10_000);
    const fine = adaptiveSize(2, canvas, 1_000_000);
    expect(coarse).toBeGreaterThan(fine);
    expect(adaptiveSize(2, canvas, 250_000)).toBeCloseTo(2); // one point per 2×2 pixels
    expect(coarse).toBeLessThanOrEqual(8);
    expect(adaptiveSize(2, canvas, 1e9)).toBeGreaterThanOrEqual(1);
    expect(adaptiveSize(3, canvas, 0)).toBe(3);
  });

  it('changes size only past a small step', () => {
    expect(sizeChanged(2, 2.01)).toBe(false);
    expect(sizeChanged(2, 2.5)).toBe(true);
  });
});
