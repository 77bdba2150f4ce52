/**
 * Hover tooltips on charts (the way Plotly shows a point's values): at most one pick per
 * interval while the pointer moves, and only the newest answer shown. Pure.
 */

/** Lets one call through per `intervalMs`; the last one held back runs when the interval ends. */
export class Throttle<A extends unknown[]> {
  private last = -Infinity;
  private pending: A | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly run: (...args: A) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly later: (f: () => void, ms: number) => ReturnType<typeof setTimeout> = (f, ms) => setTimeout(f, ms),
  ) {}

  call(...args: A): void {
    const t = this.now();
    if (t - this.last >= this.intervalMs) {
      this.last = t;
      this.run(...args);
      return;
    }
    this.pending = args;
    this.timer ??= this.later(() => {
      this.timer = null;
      const held = this.pending;
      this.pending = null;
      if (held) {
        this.last = this.now();
        this.run(...held);
      }
    }, this.intervalMs - (t - this.last));
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}

/** Numbers requests; an answer counts only if no newer request was made since. */
export class Latest {
  private sequence = 0;

  next(): number {
    return ++this.sequence;
  }

  isCurrent(ticket: number): boolean {
    return ticket === this.sequence;
  }
}

/**
 * The lines of a tooltip: the chart's axis columns first (x, y, z order), then the rest,
 * at most `max` lines; internal columns (leading underscore) left out.
 */
export function tooltipLines(row: Record<string, unknown>, axisColumns: readonly string[], format: (v: unknown) => string, max = 8): [string, string][] {
  const keys = Object.keys(row).filter((k) => !k.startsWith('_'));
  const first = axisColumns.filter((c) => keys.includes(c));
  const rest = keys.filter((k) => !first.includes(k));
  return [...first, ...rest].slice(0, max).map((k) => [k, format(row[k])]);
}

/** Where the tooltip goes: beside the pointer, kept inside the stage. */
export function tooltipPosition(x: number, y: number, width: number, height: number, stageWidth: number, stageHeight: number, gap = 12): { left: number; top: number } {
  let left = x + gap;
  let top = y + gap;
  if (left + width > stageWidth) left = Math.max(0, x - gap - width);
  if (top + height > stageHeight) top = Math.max(0, y - gap - height);
  return { left, top };
}
