import { describe, expect, it } from 'vitest';
import { bakedLegend, OTHER_CODE, OTHER_COLOR, SERVER_PALETTES } from '../src/lib/bakedlegend';
import { MAX_LEGEND_ITEMS } from '../src/lib/legend';

describe('bakedLegend', () => {
  it('names the categories in palette order with their row counts', () => {
    const model = bakedLegend(
      { mode: 'categorical', column: 'region', palette: 'tableau10', categories: ['north', 'south'] },
      [{ name: 'region', category_counts: [30, 20], other_count: 0 }],
    );
    expect(model).toEqual({
      kind: 'categorical',
      title: 'region',
      more: 0,
      items: [
        { label: 'north', code: 0, color: SERVER_PALETTES.tableau10![0], count: 30 },
        { label: 'south', code: 1, color: SERVER_PALETTES.tableau10![1], count: 20 },
      ],
    });
  });

  it('wraps the palette, caps the rows and adds the rest as other', () => {
    const categories = Array.from({ length: 15 }, (_, i) => `c${i}`);
    const model = bakedLegend({ mode: 'categorical', column: 'k', palette: 'dark2', categories }, [{ name: 'k', other_count: 7 }]);
    expect(model?.kind).toBe('categorical');
    if (model?.kind !== 'categorical') return;
    expect(model.items).toHaveLength(MAX_LEGEND_ITEMS + 1);
    expect(model.items[8]!.color).toBe(SERVER_PALETTES.dark2![0]);
    expect(model.items.at(-1)).toEqual({ label: 'other', code: OTHER_CODE, color: OTHER_COLOR, count: 7 });
    expect(model.more).toBe(15 - MAX_LEGEND_ITEMS);
    expect(model.items[0]!.count).toBeUndefined();
  });

  it('is null for colours that are not a categorical encoding with known categories', () => {
    expect(bakedLegend(null, [])).toBeNull();
    expect(bakedLegend({ mode: 'rgb' }, [])).toBeNull();
    expect(bakedLegend({ mode: 'categorical', column: 'r', categories: null }, [])).toBeNull();
  });
});
