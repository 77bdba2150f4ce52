/**
 * Placing measurements from picks (desktop clicks and XR controller selects alike): a pick's
 * point snaps to a point already placed when it is that close, otherwise to the dataset's own
 * coordinates of the picked row (the server's pick answer, exact where the tiles hold float32),
 * otherwise stays the drawn point. No three.js, no DOM: unit-tested.
 */
import {
  EMPTY_MEASURES, measureReducer, snapToPlaced, type MeasureEvent, type MeasureKind, type MeasureState, type P3,
} from '../lib/measure';

/** A pick in the measuring frame. */
export interface MeasurePick {
  rowId: number | null;
  point: P3;
}

/** The row's exact position in the measuring frame, or null when the server cannot say it. */
export type ExactPosition = (rowId: number) => Promise<P3 | null>;

export class MeasureController {
  state: MeasureState = EMPTY_MEASURES;
  /** Picks are placed in the order they were made, even when exact values answer out of order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly exact: ExactPosition | null,
    private readonly snapTolerance: () => number,
    private readonly onChange: (state: MeasureState) => void = () => undefined,
  ) {}

  get placing(): MeasureKind | null {
    return this.state.active?.kind ?? null;
  }

  dispatch(event: MeasureEvent): void {
    this.state = measureReducer(this.state, event);
    this.onChange(this.state);
  }

  start(kind: MeasureKind): void {
    this.dispatch({ type: 'start', kind });
  }

  /** Adds a picked point to the measurement being placed (none: ignored). Resolves once placed. */
  place(pick: MeasurePick): Promise<void> {
    const id = this.state.active?.id;
    if (id === undefined) return this.queue;
    this.queue = this.queue.then(async () => {
      const point = await this.resolve(pick);
      // Esc (or a new measurement) meanwhile: this point belonged to the dropped one.
      if (this.state.active?.id !== id) return;
      this.dispatch({ type: 'point', point: point.point, row: point.row });
    });
    return this.queue;
  }

  private async resolve(pick: MeasurePick): Promise<{ point: P3; row: number | null }> {
    const placed = [...(this.state.active?.points ?? []), ...this.state.done.flatMap((m) => m.points)];
    const snapped = snapToPlaced(pick.point, placed, this.snapTolerance());
    if (snapped) return { point: snapped, row: null };
    if (pick.rowId !== null && this.exact) {
      try {
        const exact = await this.exact(pick.rowId);
        if (exact) return { point: exact, row: pick.rowId };
      } catch {
        // The drawn point is within float32 of the row: measure with it.
      }
    }
    return { point: pick.point, row: pick.rowId };
  }
}
