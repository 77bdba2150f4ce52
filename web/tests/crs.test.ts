import { describe, expect, it } from 'vitest';
import { datasetWarnings, describeCrs } from '../src/lib/crs';

describe('describeCrs', () => {
  it('names the CRS, its units and where the data sit', () => {
    expect(describeCrs({
      crs_name: 'NAD_1983_HARN_Lambert_Conformal_Conic', epsg: null, horizontal_unit: 'foot', vertical_unit: 'foot',
      placed: true, center_wgs84: [-123.0711901, 44.0507283, 140.8],
    })).toBe('NAD_1983_HARN_Lambert_Conformal_Conic · x, y in foot · z in foot · placed at 44.0507° N, 123.0712° W');
  });

  it('says when the data are not placed, and shows the vertical CRS', () => {
    const text = describeCrs({ crs_name: 'WGS 84', epsg: 4326, vertical_unit: 'US survey foot', vertical_crs: 'NAVD88 height (ftUS)', placed: false });
    expect(text).toBe('WGS 84 (EPSG:4326) · z in US survey foot (NAVD88 height (ftUS)) · not placed on Earth');
  });

  it('is a dash without a CRS (old rows hold {wkt: null, epsg: null})', () => {
    expect(describeCrs(null)).toBe('—');
    expect(describeCrs({ wkt: null, epsg: null })).toBe('—');
  });
});

describe('datasetWarnings', () => {
  it('keeps the strings of stats.warnings', () => {
    expect(datasetWarnings({ warnings: ['outside the area of use', 3] })).toEqual(['outside the area of use']);
    expect(datasetWarnings({})).toEqual([]);
    expect(datasetWarnings(null)).toEqual([]);
  });
});
