import { describe, expect, it } from 'vitest';
import {
  EMPTY_MEASURES, angleAt, formatMeasure, heightDifference, horizontalArea, measureReducer, measureValues,
  perimeter, polylineLengths, snapToPlaced, type MeasureEvent, type MeasureState, type P3,
} from '../src/lib/measure';

const run = (events: MeasureEvent[], from: MeasureState = EMPTY_MEASURES) => events.reduce(measureReducer, from);

describe('distance', () => {
  it('gives each segment of a polyline and the total', () => {
    const { segments, total } = polylineLengths([[0, 0, 0], [3, 4, 0], [3, 4, 12]]);
    expect(segments).toEqual([5, 12]);
    expect(total).toBe(17);
  });

  it('keeps millimetres on map coordinates of seven digits', () => {
    const a: P3 = [500123.456, 4000456.789, 56.001];
    const b: P3 = [500123.456 + 0.003, 4000456.789 + 0.004, 56.001];
    expect(polylineLengths([a, b]).total).toBeCloseTo(0.005, 6);
  });
});

describe('area', () => {
  it('of a square with an unsorted z is its horizontal area', () => {
    expect(horizontalArea([[0, 0, 1], [10, 0, 5], [10, 10, 2], [0, 10, 9]])).toBeCloseTo(100, 12);
  });

  it('of a non-convex L shape counts only what it encloses', () => {
    // 2x2 square minus its 1x1 upper-right quarter = 3, in either winding.
    const l: P3[] = [[0, 0, 0], [2, 0, 0], [2, 1, 0], [1, 1, 0], [1, 2, 0], [0, 2, 0]];
    expect(horizontalArea(l)).toBeCloseTo(3, 12);
    expect(horizontalArea([...l].reverse())).toBeCloseTo(3, 12);
    expect(perimeter(l)).toBeCloseTo(8, 12);
  });

  it('of a parcel far from the origin loses no precision', () => {
    const o = [500000, 4000000];
    const poly: P3[] = [[o[0]!, o[1]!, 0], [o[0]! + 0.1, o[1]!, 0], [o[0]! + 0.1, o[1]! + 0.1, 0], [o[0]!, o[1]! + 0.1, 0]];
    expect(horizontalArea(poly)).toBeCloseTo(0.01, 9);
  });

  it('is zero for fewer than three points', () => {
    expect(horizontalArea([[0, 0, 0], [1, 1, 1]])).toBe(0);
  });
});

describe('height and angle', () => {
  it('height is signed, with horizontal and slope distances', () => {
    expect(heightDifference([0, 0, 10], [3, 4, 22])).toEqual({ dz: 12, horizontal: 5, slope: 13 });
    expect(heightDifference([0, 0, 22], [0, 0, 10]).dz).toBe(-12);
  });

  it('angle at the middle point, in degrees', () => {
    expect(angleAt([1, 0, 0], [0, 0, 0], [0, 1, 0])).toBeCloseTo(90, 12);
    expect(angleAt([1, 0, 0], [0, 0, 0], [1, 1, 0])).toBeCloseTo(45, 12);
    expect(angleAt([1, 0, 0], [0, 0, 0], [-1, 0, 0])).toBeCloseTo(180, 12);
    expect(angleAt([1, 0, 0], [0, 0, 0], [1, 1e-9, 0])).toBeGreaterThan(0);
    expect(angleAt([0, 0, 0], [0, 0, 0], [1, 0, 0])).toBeNaN();
  });
});

describe('measureValues', () => {
  it('is null until a kind has its points', () => {
    expect(measureValues('distance', [[0, 0, 0]])).toBeNull();
    expect(measureValues('area', [[0, 0, 0], [1, 0, 0]])).toBeNull();
    expect(measureValues('angle', [[0, 0, 0], [1, 0, 0]])).toBeNull();
  });

  it('lists segments only when there are several', () => {
    expect(measureValues('distance', [[0, 0, 0], [0, 0, 2]])).toEqual({ value: 2, unit: 'm', details: [] });
    const three = measureValues('distance', [[0, 0, 0], [0, 0, 2], [0, 3, 2]])!;
    expect(three.value).toBe(5);
    expect(three.details.map((d) => d.value)).toEqual([2, 3]);
  });

  it('reports area in square metres, height and angle', () => {
    expect(measureValues('area', [[0, 0, 0], [4, 0, 0], [0, 3, 0]])!.value).toBeCloseTo(6, 12);
    expect(measureValues('area', [[0, 0, 0], [4, 0, 0], [0, 3, 0]])!.unit).toBe('m²');
    expect(measureValues('height', [[0, 0, 1], [5, 5, 3.5]])!.value).toBe(2.5);
    expect(measureValues('angle', [[0, 1, 0], [0, 0, 0], [1, 0, 0]])!.value).toBeCloseTo(90, 12);
  });
});

describe('snapping to placed points', () => {
  it('takes the nearest placed point within the tolerance, exactly', () => {
    const placed: P3[] = [[0, 0, 0], [1, 0, 0], [1.05, 0, 0]];
    expect(snapToPlaced([1.04, 0.01, 0], placed, 0.1)).toBe(placed[2]);
    expect(snapToPlaced([0.5, 0, 0], placed, 0.1)).toBeNull();
  });
});

describe('the measuring state machine', () => {
  it('a height is complete after two points, an angle after three', () => {
    const h = run([{ type: 'start', kind: 'height' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [0, 0, 2] }]);
    expect(h.active).toBeNull();
    expect(h.done).toHaveLength(1);
    const a = run([{ type: 'start', kind: 'angle' }, { type: 'point', point: [1, 0, 0] }, { type: 'point', point: [0, 0, 0] }]);
    expect(a.active?.points).toHaveLength(2);
    expect(measureReducer(a, { type: 'point', point: [0, 1, 0] }).done[0]!.kind).toBe('angle');
  });

  it('a distance grows until finished; Esc (cancel) drops what is being placed', () => {
    const placing = run([{ type: 'start', kind: 'distance' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [1, 0, 0] }, { type: 'point', point: [1, 1, 0] }]);
    expect(placing.active?.points).toHaveLength(3);
    const done = measureReducer(placing, { type: 'finish' });
    expect(done.done[0]!.points).toHaveLength(3);
    const cancelled = measureReducer(placing, { type: 'cancel' });
    expect(cancelled.active).toBeNull();
    expect(cancelled.done).toHaveLength(0);
  });

  it('finishing with too few points keeps nothing; undo removes the last point', () => {
    const one = run([{ type: 'start', kind: 'distance' }, { type: 'point', point: [0, 0, 0] }]);
    expect(measureReducer(one, { type: 'finish' }).done).toHaveLength(0);
    expect(measureReducer(one, { type: 'undo' }).active?.points).toHaveLength(0);
  });

  it('an area closes when a point lands on its first vertex', () => {
    const first: P3 = [0, 0, 0];
    const s = run([{ type: 'start', kind: 'area' }, { type: 'point', point: first }, { type: 'point', point: [2, 0, 0] }, { type: 'point', point: [2, 2, 0] }, { type: 'point', point: first }]);
    expect(s.active).toBeNull();
    expect(s.done[0]!.points).toHaveLength(3);
    expect(measureValues('area', s.done[0]!.points)!.value).toBe(2);
  });

  it('the last point picked again ends a line or polygon (a pinch has no Enter), never a lone point', () => {
    const line = run([{ type: 'start', kind: 'distance' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [3, 4, 0] }, { type: 'point', point: [3, 4, 0] }]);
    expect(line.active).toBeNull();
    expect(line.done[0]!.points).toEqual([[0, 0, 0], [3, 4, 0]]);
    const lone = run([{ type: 'start', kind: 'distance' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [0, 0, 0] }]);
    expect(lone.active?.points).toHaveLength(1);
    expect(lone.done).toHaveLength(0);
    const polygon = run([{ type: 'start', kind: 'area' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [2, 0, 0] }, { type: 'point', point: [2, 2, 0] }, { type: 'point', point: [2, 2, 0] }]);
    expect(measureValues('area', polygon.done[0]!.points)!.value).toBe(2);
    // A height's two points may coincide (a zero height is an answer).
    const flat = run([{ type: 'start', kind: 'height' }, { type: 'point', point: [1, 1, 1] }, { type: 'point', point: [1, 1, 1] }]);
    expect(flat.done[0]!.points).toHaveLength(2);
  });

  it('points without a started measurement are ignored; measurements are removable by id', () => {
    expect(measureReducer(EMPTY_MEASURES, { type: 'point', point: [0, 0, 0] })).toBe(EMPTY_MEASURES);
    const two = run([
      { type: 'start', kind: 'height' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [0, 0, 1] },
      { type: 'start', kind: 'height' }, { type: 'point', point: [0, 0, 0] }, { type: 'point', point: [0, 0, 3] },
    ]);
    expect(two.done.map((m) => m.id)).toEqual([1, 2]);
    expect(measureReducer(two, { type: 'remove', id: 1 }).done.map((m) => m.id)).toEqual([2]);
    expect(measureReducer(two, { type: 'clear' }).done).toEqual([]);
  });
});

describe('formatMeasure', () => {
  it('shows millimetres, fewer digits for big values, a tenth of a degree', () => {
    expect(formatMeasure(12.34567, 'm')).toBe('12.346 m');
    expect(formatMeasure(1234.5678, 'm²')).toBe('1,234.57 m²');
    expect(formatMeasure(89.96, '°')).toBe('90.0°');
    expect(formatMeasure(Number.NaN, 'm')).toBe('—');
  });
});
