import { describe, expect, it } from 'vitest';
import { Latest, Throttle, tooltipLines, tooltipPosition } from '../src/lib/hover';

describe('hover throttle', () => {
  it('runs at once, holds back calls within the interval, then runs the last one', () => {
    let now = 0;
    const timers: (() => void)[] = [];
    const ran: number[] = [];
    const t = new Throttle<[number]>(80, (v) => ran.push(v), () => now, (f) => {
      timers.push(f);
      return 0 as unknown as ReturnType<typeof setTimeout>;
    });
    t.call(1);
    now = 10;
    t.call(2);
    now = 20;
    t.call(3);
    expect(ran).toEqual([1]);
    expect(timers).toHaveLength(1); // one timer for the held-back call, not one per call
    now = 80;
    timers.shift()!();
    expect(ran).toEqual([1, 3]);
    now = 200;
    t.call(4);
    expect(ran).toEqual([1, 3, 4]);
  });

  it('cancel drops the held-back call', () => {
    let now = 0;
    const timers: (() => void)[] = [];
    const ran: number[] = [];
    const t = new Throttle<[number]>(80, (v) => ran.push(v), () => now, (f) => {
      timers.push(f);
      return 0 as unknown as ReturnType<typeof setTimeout>;
    });
    t.call(1);
    now = 5;
    t.call(2);
    t.cancel();
    timers.forEach((f) => f());
    expect(ran).toEqual([1]);
  });
});

describe('newest answer only', () => {
  it('counts an answer only when no newer request was made', () => {
    const latest = new Latest();
    const first = latest.next();
    const second = latest.next();
    expect(latest.isCurrent(first)).toBe(false);
    expect(latest.isCurrent(second)).toBe(true);
  });
});

describe('tooltip content and placement', () => {
  it('puts the axis columns first, leaves internal ones out, bounds the lines', () => {
    const row = { _row: 1, region: 'north', income: 52000, age: 41, row_id: 7 };
    const lines = tooltipLines(row, ['age', 'income', 'missing'], String, 3);
    expect(lines).toEqual([['age', '41'], ['income', '52000'], ['region', 'north']]);
  });

  it('stays inside the stage', () => {
    expect(tooltipPosition(10, 10, 100, 50, 800, 600)).toEqual({ left: 22, top: 22 });
    expect(tooltipPosition(780, 590, 100, 50, 800, 600)).toEqual({ left: 668, top: 528 });
  });
});
