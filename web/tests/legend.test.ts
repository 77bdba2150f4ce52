import { describe, expect, it } from 'vitest';
import { formatTick, legendFor, MAX_LEGEND_ITEMS, niceTicks } from '../src/lib/legend';

describe('niceTicks', () => {
  it('gives round values inside the range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.13, 0.87, 5)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-5, 5, 3)).toEqual([-5, 0, 5]);
  });
  it('handles degenerate ranges', () => {
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(10, 0, 3)).toEqual([0, 5, 10]);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });
});

describe('legendFor', () => {
  it('shows original colours when nothing is chosen', () => {
    expect(legendFor(null)).toEqual({ kind: 'rgb', title: 'Original colours' });
  });

  it('builds a continuous legend with ticks positioned along the bar', () => {
    const legend = legendFor({ name: 'intensity', kind: 'continuous', min: 0, max: 65535 }, 'magma', 'counts');
    expect(legend.kind).toBe('continuous');
    if (legend.kind !== 'continuous') return;
    expect(legend.title).toBe('intensity (counts)');
    expect(legend.colormap).toBe('magma');
    expect(legend.ticks[0]).toEqual({ value: 0, label: '0', position: 0 });
    for (const t of legend.ticks) {
      expect(t.position).toBeGreaterThanOrEqual(0);
      expect(t.position).toBeLessThanOrEqual(1);
    }
    expect(legend.gradient).toContain('linear-gradient');
  });

  it('survives a zero-width range and an unknown colormap', () => {
    const legend = legendFor({ name: 'c', kind: 'continuous', min: 5, max: 5 }, 'rainbow');
    expect(legend.kind === 'continuous' && legend.colormap).toBe('viridis');
    expect(legend.kind === 'continuous' && legend.max).toBe(6);
  });

  it('lists named categories with palette colours, capped', () => {
    const categories = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const legend = legendFor({ name: 'kind', kind: 'categorical', min: 0, max: 19, categories });
    expect(legend.kind).toBe('categorical');
    if (legend.kind !== 'categorical') return;
    expect(legend.items).toHaveLength(MAX_LEGEND_ITEMS);
    expect(legend.more).toBe(20 - MAX_LEGEND_ITEMS);
    expect(legend.items[0]).toEqual({ label: 'c0', code: 0, color: '#4e79a7' });
  });

  it('uses integer codes when a categorical attribute has no names (LAS classification)', () => {
    const legend = legendFor({ name: 'classification', kind: 'categorical', min: 2, max: 6 });
    if (legend.kind !== 'categorical') throw new Error('expected categorical');
    expect(legend.items.map((i) => i.code)).toEqual([2, 3, 4, 5, 6]);
    expect(legend.items[0]!.color).toBe('#e15759');
  });
});

describe('legendFor with the loaded tiles counted', () => {
  it('names ASPRS classes, counts them, lists only codes present and marks hidden ones', () => {
    const legend = legendFor({ name: 'classification', kind: 'categorical', min: 2, max: 6 }, 'viridis', undefined, {
      counts: new Map([[6, 10], [2, 700]]),
      hidden: new Set([6]),
    });
    if (legend.kind !== 'categorical') throw new Error('expected categorical');
    expect(legend.items.map((i) => [i.label, i.count, i.hidden])).toEqual([
      ['Ground (2)', 700, false],
      ['Building (6)', 10, true],
    ]);
  });
});

describe('formatTick', () => {
  it('uses decimals the span needs', () => {
    expect(formatTick(0.25, 1)).toBe('0.25');
    expect(formatTick(1200, 5000)).toBe('1200');
    expect(formatTick(2e7, 1e8)).toBe('2.0e+7');
  });
});
