import { describe, expect, it } from 'vitest';
import { crsLabel } from '../src/lib/crs';

describe('crsLabel', () => {
  it('names the EPSG code when there is one', () => {
    expect(crsLabel({ wkt: 'PROJCRS["WGS 84 / UTM zone 33N"]', epsg: 32633 })).toBe('EPSG:32633');
  });
  it('falls back to the name a WKT starts with', () => {
    expect(crsLabel({ wkt: 'PROJCS["NAD83 / UTM zone 10N",GEOGCS["NAD83"]]', epsg: null })).toBe('NAD83 / UTM zone 10N');
  });
  it('says nothing is known as a dash, whatever the shape of "nothing"', () => {
    expect(crsLabel(null)).toBe('—');
    expect(crsLabel({ wkt: null, epsg: null })).toBe('—');
    expect(crsLabel({})).toBe('—');
  });
});
