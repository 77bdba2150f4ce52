/**
 * Adaptive point budget: lower it quickly when frames are slow, raise it slowly when there is
 * headroom (multiplicative decrease, additive increase). Pure: feed frame times, read budget.
 */

/** The point budget slider's range and the viewer's starting budget: one source for both. */
export const POINT_BUDGET = { min: 250_000, max: 6_000_000, step: 250_000, initial: 3_000_000 } as const;

export interface BudgetOptions {
  min: number;
  max: number;
  initial: number;
  /** frame time to hold, ms (90 Hz on Vision Pro ≈ 11.1 ms; 60 Hz ≈ 16.7 ms) */
  targetFrameMs: number;
  /** smoothing of the frame time average (0..1, weight of the newest frame) */
  smoothing?: number;
  /** frames to wait after a change before judging again */
  cooldownFrames?: number;
  decreaseFactor?: number;
  /** share of `max` added per increase */
  increaseStep?: number;
}

export class AdaptiveBudget {
  readonly options: Required<BudgetOptions>;
  private average: number;
  private cooldown = 0;
  private current: number;
  private chosenCeiling: number;

  constructor(options: BudgetOptions) {
    this.options = {
      smoothing: 0.1,
      cooldownFrames: 30,
      decreaseFactor: 0.75,
      increaseStep: 0.05,
      ...options,
    };
    if (this.options.min > this.options.max) throw new Error('min must not exceed max');
    this.chosenCeiling = this.options.max;
    this.current = clamp(options.initial, this.options.min, this.options.max);
    this.average = options.targetFrameMs;
  }

  get budget(): number {
    return this.current;
  }

  /** The most points the budget may rise to: `max`, or what the user chose with {@link choose}. */
  get ceiling(): number {
    return this.chosenCeiling;
  }

  /** The user's budget: the budget starts there and adapts below it, never above. */
  choose(points: number): void {
    this.chosenCeiling = clamp(points, this.options.min, this.options.max);
    this.reset(this.chosenCeiling);
  }

  get averageFrameMs(): number {
    return this.average;
  }

  /** Records one frame's duration and returns the (possibly new) budget. */
  update(frameMs: number): number {
    if (!Number.isFinite(frameMs) || frameMs <= 0) return this.current;
    // Frames after a hitch (tab hidden, GC) would distort the average badly: cap them.
    const sample = Math.min(frameMs, this.options.targetFrameMs * 4);
    this.average += (sample - this.average) * this.options.smoothing;
    if (this.cooldown > 0) {
      this.cooldown--;
      return this.current;
    }
    const { min, max, targetFrameMs, decreaseFactor, increaseStep, cooldownFrames } = this.options;
    let next = this.current;
    if (this.average > targetFrameMs * 1.1) next = Math.max(min, Math.floor(this.current * decreaseFactor));
    else if (this.average < targetFrameMs * 0.8) next = Math.min(this.chosenCeiling, Math.ceil(this.current + max * increaseStep));
    if (next !== this.current) {
      this.current = next;
      this.cooldown = cooldownFrames;
    }
    return this.current;
  }

  reset(budget = this.options.initial): void {
    this.current = clamp(budget, this.options.min, this.chosenCeiling);
    this.average = this.options.targetFrameMs;
    this.cooldown = 0;
  }
}

/**
 * The point budget as the slider's label and the HUD both show it, from the viewer's budget:
 * the budget in effect, and the user's ceiling when slow frames made the viewer lower it.
 */
export function budgetText(budget: { budget: number; ceiling: number }): string {
  const count = (n: number) => n.toLocaleString('en-US');
  return budget.budget < budget.ceiling ? `${count(budget.budget)} of ${count(budget.ceiling)}` : count(budget.budget);
}

/**
 * The finest screen-space error (pixels) the viewer refines to. Tiles refine by their
 * screen-space error, and the budget only ever coarsens: a budget larger than the cloud
 * used to drive the target down to 1 px, which loads every tile of a 1M-point scene at
 * overview (12 MB for the demo) though the finer levels add no visible detail there.
 */
export const FINEST_ERROR_TARGET = 6;

/**
 * Steers the tiles renderer's screen-space error target so the drawn points stay under the
 * budget: more points than allowed → coarser (larger error target), well under → back
 * towards the finest target, never below it.
 */
export function nextErrorTarget(
  errorTarget: number,
  pointsDrawn: number,
  budget: number,
  limits: { min: number; max: number } = { min: FINEST_ERROR_TARGET, max: 128 },
): number {
  if (budget <= 0) return limits.max;
  const ratio = pointsDrawn / budget;
  let next = errorTarget;
  if (ratio > 1) next = errorTarget * Math.min(1.5, 1 + (ratio - 1) * 0.5 + 0.05);
  else if (ratio < 0.7) next = errorTarget * 0.95;
  return clamp(next, limits.min, limits.max);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
