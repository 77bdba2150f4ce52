/**
 * window.__spatialviz: read-only state for end-to-end tests and debugging (see web/README.md).
 * Values are plain data, updated by the app as things happen.
 */
export interface DebugState {
  version: string;
  route: string;
  signedIn: boolean;
  workspaceId: string | null;
  sceneId: string | null;
  sceneReady: boolean;
  tilesLoaded: number;
  /** tile sidecars (the columns a tile leaves out) fetched so far, and those held now */
  sidecars: { fetched: number; held: number };
  /** true while the viewer still has tiles to download or parse */
  tilesLoading: boolean;
  pointsDrawn: number;
  pointBudget: number;
  errorTarget: number;
  colorBy: string | null;
  lastPickedRowId: number | null;
  lastPickedRow: Record<string, unknown> | null;
  lastBox: { count: number } | null;
  xr: { supported: boolean | null; emulator: boolean; session: 'none' | 'starting' | 'active' | 'ended'; mode: string | null; frames: number };
  upload: { progress: number; datasetId: string | null; state: string };
  jobs: Record<string, { status: string; progress: number; stage: string | null }>;
  errors: string[];
  /** the scene's notes, view tools and hover tooltip (ui/annotations.ts, ui/viewtools.ts, ui/charthover.ts) */
  annotations?: { id: string; text: string }[];
  lastFlight?: { kind: string; id: string };
  viewTools?: { edl: boolean; sizeMode: string; pointSize: number };
  /** a chart scene's axis titles and tick labels, as drawn (viewer/axes.ts) */
  axisLabels?: string[];
  hover?: { rowId: number | null; shown: boolean };
  /** test helpers installed by the scene view */
  actions: Record<string, (...args: never[]) => unknown>;
}

export const debug: DebugState = {
  version: '0.1.0',
  route: '/',
  signedIn: false,
  workspaceId: null,
  sceneId: null,
  sceneReady: false,
  tilesLoaded: 0,
  sidecars: { fetched: 0, held: 0 },
  tilesLoading: false,
  pointsDrawn: 0,
  pointBudget: 0,
  errorTarget: 0,
  colorBy: null,
  lastPickedRowId: null,
  lastPickedRow: null,
  lastBox: null,
  xr: { supported: null, emulator: false, session: 'none', mode: null, frames: 0 },
  upload: { progress: 0, datasetId: null, state: 'idle' },
  jobs: {},
  errors: [],
  actions: {},
};

declare global {
  interface Window {
    __spatialviz: DebugState;
  }
}

export function installDebug(): void {
  window.__spatialviz = debug;
}

export function recordError(message: string): void {
  debug.errors.push(message);
  if (debug.errors.length > 50) debug.errors.shift();
}
