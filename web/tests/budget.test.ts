import { describe, expect, it } from 'vitest';
import { AdaptiveBudget, budgetText, FINEST_ERROR_TARGET, nextErrorTarget, POINT_BUDGET } from '../src/lib/budget';

const make = () => new AdaptiveBudget({ min: 100_000, max: 2_000_000, initial: 1_000_000, targetFrameMs: 11.1 });

describe('AdaptiveBudget', () => {
  it('keeps the budget while frames are on target', () => {
    const b = make();
    for (let i = 0; i < 500; i++) b.update(10);
    expect(b.budget).toBe(1_000_000);
  });

  it('lowers the budget quickly when frames are slow, never below min', () => {
    const b = make();
    const seen: number[] = [];
    for (let i = 0; i < 2000; i++) seen.push(b.update(30));
    expect(seen.find((v) => v < 1_000_000)).toBeDefined();
    expect(seen.findIndex((v) => v < 1_000_000)).toBeLessThan(40);
    expect(b.budget).toBe(100_000);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeLessThanOrEqual(seen[i - 1]!);
  });

  it('raises it slowly when there is headroom, never above max', () => {
    const b = make();
    const first: number[] = [];
    for (let i = 0; i < 100; i++) first.push(b.update(4));
    expect(Math.max(...first)).toBeLessThanOrEqual(1_400_000);
    for (let i = 0; i < 5000; i++) b.update(4);
    expect(b.budget).toBe(2_000_000);
  });

  it('waits a cooldown between changes', () => {
    const b = new AdaptiveBudget({ min: 1, max: 1000, initial: 1000, targetFrameMs: 10, smoothing: 1, cooldownFrames: 5 });
    expect(b.update(50)).toBe(750);
    for (let i = 0; i < 5; i++) expect(b.update(50)).toBe(750);
    expect(b.update(50)).toBe(562);
  });

  it('ignores nonsense samples and caps hitches', () => {
    const b = make();
    b.update(Number.NaN);
    b.update(-1);
    expect(b.averageFrameMs).toBeCloseTo(11.1);
    b.update(10_000);
    expect(b.averageFrameMs).toBeLessThan(11.1 + 4 * 11.1 * 0.1);
  });

  it('resets and validates options', () => {
    const b = make();
    for (let i = 0; i < 200; i++) b.update(40);
    b.reset();
    expect(b.budget).toBe(1_000_000);
    expect(() => new AdaptiveBudget({ min: 10, max: 1, initial: 5, targetFrameMs: 10 })).toThrow();
  });
});

describe('nextErrorTarget', () => {
  it('coarsens when over budget, refines when well under, holds in between', () => {
    expect(nextErrorTarget(10, 2_000_000, 1_000_000)).toBeGreaterThan(10);
    expect(nextErrorTarget(10, 100_000, 1_000_000)).toBeLessThan(10);
    expect(nextErrorTarget(10, 100_000, 1_000_000)).toBeGreaterThanOrEqual(FINEST_ERROR_TARGET);
    expect(nextErrorTarget(10, 900_000, 1_000_000)).toBe(10);
  });
  it('refines by screen-space error: a budget larger than the cloud never drives the target below the finest', () => {
    let target = FINEST_ERROR_TARGET;
    for (let i = 0; i < 200; i++) target = nextErrorTarget(target, 300_000, 3_000_000);
    expect(target).toBe(FINEST_ERROR_TARGET);
  });
  it('stays within limits', () => {
    expect(nextErrorTarget(128, 1e9, 1)).toBe(128);
    expect(nextErrorTarget(1, 0, 1000, { min: 1, max: 128 })).toBe(1);
    expect(nextErrorTarget(5, 10, 0)).toBe(128);
  });
});

describe('the point budget the slider chooses and the HUD shows', () => {
  it('is a ceiling: fast frames never raise the budget above the chosen one', () => {
    const b = new AdaptiveBudget({ min: 100_000, max: POINT_BUDGET.max, initial: POINT_BUDGET.initial, targetFrameMs: 16.7 });
    b.choose(1_000_000);
    for (let i = 0; i < 5000; i++) b.update(4);
    expect(b.budget).toBe(1_000_000);
    expect(budgetText(b)).toBe('1,000,000');
  });

  it('shows the budget in effect and the chosen one once slow frames lowered it', () => {
    const b = new AdaptiveBudget({ min: 100_000, max: POINT_BUDGET.max, initial: POINT_BUDGET.initial, targetFrameMs: 16.7 });
    b.choose(POINT_BUDGET.initial);
    for (let i = 0; i < 100 && b.budget === POINT_BUDGET.initial; i++) b.update(60);
    expect(b.budget).toBe(2_250_000); // one step down (x 0.75)
    expect(budgetText(b)).toBe('2,250,000 of 3,000,000');
    // back to the user's choice, and no further
    for (let i = 0; i < 5000; i++) b.update(4);
    expect(budgetText(b)).toBe('3,000,000');
  });

  it('clamps a choice to the slider range of the viewer', () => {
    const b = new AdaptiveBudget({ min: 100_000, max: POINT_BUDGET.max, initial: POINT_BUDGET.initial, targetFrameMs: 16.7 });
    b.choose(50_000_000);
    expect(b.ceiling).toBe(POINT_BUDGET.max);
    expect(budgetText(b)).toBe('6,000,000');
  });
});
