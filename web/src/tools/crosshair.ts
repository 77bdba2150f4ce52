/**
 * The measuring crosshair (issue 17, keyboard and screen-reader access): a focusable mark at the
 * centre of the view. With it focused, arrow keys or WASD move the view (Shift turns it, + and −
 * zoom), Enter picks the drawn point nearest the centre exactly as a click picks (so the active
 * tool places it, with the same snapping), Backspace removes the last point, Escape finishes.
 */
import { crosshairAction, AIM_RADIUS_PX } from '../lib/keynav';
import { h } from '../ui/dom';
import type { PickHit, Viewer } from '../viewer/viewer';

export interface CrosshairTool {
  /** Removes the last point of what is being placed. */
  undo(): void;
  /** Ends what is being placed. */
  finish(): void;
  /** Tells screen readers (a polite live region). */
  say(text: string): void;
}

const HELP = 'Arrow keys or W A S D move the view, with Shift they turn it, plus and minus zoom. '
  + 'Enter places a point under the crosshair, Backspace removes the last point, Escape finishes.';

export class Crosshair {
  readonly element: HTMLElement;
  private readonly aim: HTMLElement;

  constructor(private readonly viewer: Viewer, private readonly tool: CrosshairTool) {
    const help = h('span', { id: 'crosshair-help', class: 'visually-hidden' }, HELP);
    this.aim = h('span', { class: 'crosshair-mark', 'aria-hidden': 'true' });
    this.element = h('div', {
      class: 'crosshair', tabindex: 0, role: 'application', 'data-testid': 'measure-crosshair',
      'aria-label': 'Measuring crosshair', 'aria-describedby': 'crosshair-help',
      onkeydown: (e: KeyboardEvent) => this.onKey(e),
      onfocus: () => this.look(),
    }, this.aim, help);
    viewer.container.append(this.element);
  }

  /** Focuses the crosshair (a measurement chosen from the keyboard continues there). */
  focus(): void {
    this.element.focus();
  }

  /** Shows the crosshair without focus (a measurement is being placed). */
  set shown(on: boolean) {
    this.element.classList.toggle('crosshair-shown', on);
  }

  private onKey(e: KeyboardEvent): void {
    const action = crosshairAction(e);
    if (!action) return;
    // Ours, not the page's (Enter would finish, Backspace undo, WASD fly) nor the browser's.
    e.preventDefault();
    e.stopPropagation();
    switch (action.type) {
      case 'move':
        this.viewer.nudgeView(action.move);
        this.look();
        break;
      case 'place': {
        const hit = this.viewer.aimCentre(AIM_RADIUS_PX, true);
        this.show(hit);
        if (!hit) this.tool.say('No point under the crosshair: move the view.');
        break;
      }
      case 'undo':
        this.tool.undo();
        break;
      case 'finish':
        this.tool.finish();
        break;
    }
  }

  /** What the crosshair is on now (no pick): the mark says whether a point is there. */
  private look(): void {
    this.show(this.viewer.aimCentre(AIM_RADIUS_PX, false));
  }

  private show(hit: PickHit | null): void {
    this.element.classList.toggle('crosshair-on-point', !!hit);
    // For tests and the HUD: the row under the crosshair, if any.
    if (hit?.rowId != null) this.element.dataset.row = String(hit.rowId);
    else delete this.element.dataset.row;
  }

  dispose(): void {
    this.element.remove();
  }
}
