import { describe, expect, it } from 'vitest';
import { axisTickLabels, axisTitle, CHART_POINT_SIZE, CLOUD_POINT_SIZE, defaultPointSize } from '../src/lib/axislabels';

describe('chart axis tick labels', () => {
  it('give an income axis one suffix: 20k … 120k, not 20000 in full', () => {
    expect(axisTickLabels([20_000, 40_000, 60_000, 80_000, 100_000, 120_000])).toEqual(['20k', '40k', '60k', '80k', '100k', '120k']);
    expect(axisTickLabels([0, 50_000, 100_000])).toEqual(['0', '50k', '100k']);
    expect(axisTickLabels([12_500, 15_000, 17_500])).toEqual(['12.5k', '15k', '17.5k']);
  });

  it('keep the suffix of the largest tick for the small ones of the same axis', () => {
    expect(axisTickLabels([5_000, 10_000, 15_000])).toEqual(['5k', '10k', '15k']);
  });

  it('use M and B for millions and billions (no exponent form)', () => {
    expect(axisTickLabels([1_000_000, 1_500_000, 2_000_000])).toEqual(['1M', '1.5M', '2M']);
    expect(axisTickLabels([-2e9, 0, 2e9])).toEqual(['-2B', '0', '2B']);
  });

  it('write thousands with a separator and small numbers as they are', () => {
    expect(axisTickLabels([0, 2_500, 5_000, 7_500])).toEqual(['0', '2,500', '5,000', '7,500']);
    expect(axisTickLabels([20, 40, 60])).toEqual(['20', '40', '60']);
    expect(axisTickLabels([0, 0.25, 0.5, 0.75, 1])).toEqual(['0', '0.25', '0.5', '0.75', '1']);
  });
});

describe('chart axis titles', () => {
  it('name the column with its unit once', () => {
    expect(axisTitle({ label: 'income', unit: null })).toBe('income');
    // the server's label already carries the unit
    expect(axisTitle({ label: 'income (USD)', unit: 'USD' })).toBe('income (USD)');
    expect(axisTitle({ label: 'Household income', unit: 'USD' })).toBe('Household income (USD)');
  });
});

describe('the point size a scene opens with', () => {
  it('is large enough on a chart to see each of a few thousand rows', () => {
    expect(defaultPointSize('chart')).toBe(CHART_POINT_SIZE);
    expect(CHART_POINT_SIZE).toBeGreaterThanOrEqual(4);
    expect(defaultPointSize('dataset')).toBe(CLOUD_POINT_SIZE);
    expect(defaultPointSize(undefined)).toBe(CLOUD_POINT_SIZE);
  });
});
