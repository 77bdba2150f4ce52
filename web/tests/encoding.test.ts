import { describe, expect, it } from 'vitest';
import { codedTextColumn, defaultEncoding, encodingRequest, initialColoring, recolourable, validateEncoding } from '../src/lib/encoding';
import type { Column } from '../src/lib/types';

const col = (name: string, type = 'float64', role: Column['role'] = 'attribute'): Column => ({ name, type, role, unit: null });

describe('encoding form', () => {
  it('prefers columns by role, then by name, then the first numerics', () => {
    const columns = [col('label', 'string'), col('a'), col('depth', 'float32'), col('lat'), col('lon')];
    expect(defaultEncoding(columns)).toEqual({ x: 'lon', y: 'lat', z: 'depth', color: '', colormap: 'viridis', size: '' });
    expect(defaultEncoding([col('p'), col('q'), col('r')])).toMatchObject({ x: 'p', y: 'q', z: 'r' });
  });

  it('turns the form into the backend Encoding shape, empty choices becoming null', () => {
    const body = encodingRequest('ds1', { x: ' x ', y: 'y', z: 'z', color: '', colormap: 'magma', size: '' });
    expect(body).toEqual({
      dataset_id: 'ds1',
      encoding: { position: { x: 'x', y: 'y', z: 'z' }, color: null, size: null },
    });
    const columns = [col('a'), col('b'), col('c'), col('kind', 'string'), col('t'), col('w')];
    const numeric = encodingRequest('d', { x: 'a', y: 'b', z: 'c', color: 't', colormap: 'grey', size: 'w' }, columns);
    expect((JSON.parse(JSON.stringify(numeric)) as { encoding: unknown }).encoding).toEqual({
      position: { x: 'a', y: 'b', z: 'c' },
      color: { mode: 'continuous', column: 't', colormap: 'grey' },
      size: { mode: 'column', column: 'w' },
    });
    const text = encodingRequest('d', { x: 'a', y: 'b', z: 'c', color: 'kind', colormap: 'viridis', size: '' }, columns);
    expect(text.encoding.color).toEqual({ mode: 'categorical', column: 'kind' });
  });

  it('reads the initial colouring from a stored scene encoding', () => {
    expect(initialColoring({ color: { mode: 'continuous', column: 't', colormap: 'grey' } })).toEqual({ color: 't', colormap: 'grey' });
    expect(initialColoring({ color: { mode: 'categorical', column: 'kind' } })).toEqual({ color: 'kind', colormap: 'viridis' });
    expect(initialColoring({})).toEqual({ color: '', colormap: 'viridis' });
    expect(initialColoring(null)).toEqual({ color: '', colormap: 'viridis' });
  });

  it('validates: axes required and numeric, colour any column, known colormap', () => {
    const columns = [col('x'), col('y'), col('name', 'string')];
    const errors = validateEncoding({ x: 'x', y: 'name', z: '', color: 'name', colormap: 'jet', size: 'nope' }, columns);
    expect(errors).toEqual({
      y: '"name" is not numeric.',
      z: 'Choose a column for Z.',
      colormap: 'Unknown colormap "jet".',
      size: 'No column named "nope".',
    });
    expect(validateEncoding({ x: 'x', y: 'y', z: 'x', color: 'name', colormap: 'viridis', size: '' }, columns)).toEqual({});
  });
});

describe('recolourable', () => {
  it('keeps numeric attributes and drops text columns', () => {
    const kept = recolourable([
      { name: 'intensity', kind: 'continuous', min: 0, max: 10 },
      { name: 'flag', kind: 'categorical', min: null, categories: [false, true] },
      { name: 'region', kind: 'categorical', min: null, categories: null },
      { name: 'label', kind: 'categorical', min: null, categories: ['a', 'b'] },
    ]);
    expect(kept.map((a) => a.name)).toEqual(['intensity', 'flag']);
  });

  it('offers the text column whose codes the tiles carry, and no other', () => {
    const attributes = [
      { name: 'age', kind: 'continuous', min: 18, max: 95 },
      { name: 'region', kind: 'categorical', min: null, categories: ['north', 'south'] },
      { name: 'label', kind: 'categorical', min: null, categories: ['a', 'b'] },
    ];
    const demoChart = { color: { mode: 'categorical', column: 'region', palette: 'tableau10', categories: ['north', 'south'] } };
    expect(codedTextColumn(demoChart)).toBe('region');
    expect(recolourable(attributes, codedTextColumn(demoChart)).map((a) => a.name)).toEqual(['age', 'region']);
  });

  it('finds no coded column unless a categorical colour names text categories', () => {
    expect(codedTextColumn({ color: { mode: 'continuous', column: 'age' } })).toBeNull();
    expect(codedTextColumn({ color: { mode: 'categorical', column: 'classification', categories: [1, 2] } })).toBeNull();
    expect(codedTextColumn({ color: { mode: 'categorical', column: 'region', categories: null } })).toBeNull();
    expect(codedTextColumn(null)).toBeNull();
  });
});
