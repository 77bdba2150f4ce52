/**
 * What the viewer offers to colour by, and how: categorical (LAS classification with the
 * ASPRS class names, return numbers) or continuous, and nothing that is constant (a LAS file
 * carries ~11 fields that are zero everywhere; offering them only paints one colour). Pure.
 *
 * The API types every numeric column as continuous; integer codes whose order means nothing
 * are categorical by their LAS names here.
 */
import type { SceneAttribute } from './types';

/** ASPRS LAS 1.4 standard point classes (R15, table 17). */
export const ASPRS_CLASSES: Readonly<Record<number, string>> = {
  0: 'Never classified',
  1: 'Unclassified',
  2: 'Ground',
  3: 'Low vegetation',
  4: 'Medium vegetation',
  5: 'High vegetation',
  6: 'Building',
  7: 'Low point (noise)',
  8: 'Model key-point',
  9: 'Water',
  10: 'Rail',
  11: 'Road surface',
  12: 'Overlap',
  13: 'Wire – guard',
  14: 'Wire – conductor',
  15: 'Transmission tower',
  16: 'Wire-structure connector',
  17: 'Bridge deck',
  18: 'High noise',
};

const CATEGORICAL_CODES = new Set(['classification', 'return_number', 'number_of_returns']);

function isConstant(a: SceneAttribute): boolean {
  return a.kind === 'continuous' && Number.isFinite(a.min) && a.min === a.max;
}

/** The attributes worth offering, each with the kind it is coloured as. */
export function typedAttributes<T extends SceneAttribute>(attributes: T[]): T[] {
  return attributes
    .filter((a) => !isConstant(a))
    .map((a) => (CATEGORICAL_CODES.has(a.name) && Number.isFinite(a.min) ? { ...a, kind: 'categorical' as const } : a));
}

/** A category's label: the ASPRS name for classification codes, else the code itself. */
export function categoryLabel(attribute: string, code: number): string {
  if (attribute === 'classification') {
    const name = ASPRS_CLASSES[code] ?? (code >= 64 ? 'User defined' : 'Reserved');
    return `${name} (${code})`;
  }
  return String(code);
}

/** Per-code counts of a set of per-point value arrays (codes rounded like the shader). */
export function countCodes(arrays: Iterable<ArrayLike<number>>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const code = Math.round(values[i]!);
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Points left drawn when the codes in `hidden` are hidden: each array holds one cloud's
 * per-point codes (rounded like the shader, which can hide codes 0..255 only); a cloud
 * without codes (null) is drawn whole.
 */
export function shownCount(clouds: Iterable<{ size: number; codes: ArrayLike<number> | null }>, hidden: ReadonlySet<number>): number {
  let shown = 0;
  for (const { size, codes } of clouds) {
    if (!codes || hidden.size === 0) {
      shown += size;
      continue;
    }
    let dropped = 0;
    for (let i = 0; i < codes.length; i++) {
      const code = Math.round(codes[i]!);
      if (code >= 0 && code < 256 && hidden.has(code)) dropped++;
    }
    shown += size - dropped;
  }
  return shown;
}
