import { describe, expect, it } from 'vitest';
import { formatValue } from '../src/lib/format';

describe('panel values', () => {
  it('shows GPS time to the microsecond', () => {
    expect(formatValue(300000000.211272)).toBe('300000000.211272');
    expect(formatValue(300000005.999998)).toBe('300000005.999998');
  });
  it('keeps short numbers short', () => {
    expect(formatValue(9.79800033569336)).toBe('9.798'); // a float32 widened to float64
    expect(formatValue(20.25)).toBe('20.25');
    expect(formatValue(0.000123456789)).toBe('0.0001234568');
    expect(formatValue(-3.5)).toBe('-3.5');
  });
  it('prints integers, 64-bit ids, text and gaps', () => {
    expect(formatValue(16777217)).toBe('16,777,217');
    expect(formatValue(2n ** 40n)).toBe('1,099,511,627,776');
    expect(formatValue('ab')).toBe('ab');
    expect(formatValue(null)).toBe('—');
  });
});
