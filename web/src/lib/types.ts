/**
 * The API's JSON as the client reads it. Generated from the server's OpenAPI document
 * (src/api-types.ts, `npm run api-types`; tests/test_api_types.py fails when it drifts), so a
 * field the server changes breaks the build here instead of a page at run time.
 */
import type { components } from '../api-types';

type Schemas = components['schemas'];

export type TokenPair = Schemas['TokenOut'];
export type WorkspaceRef = Schemas['MeWorkspace'] | Schemas['WorkspaceOut'];
export type Me = Schemas['MeOut'];
export type JobStatus = Schemas['JobStatus'];
/** What the client reads of a job; a live message may leave the stage out. */
export type Job = Pick<Schemas['JobRead'], 'id' | 'kind' | 'status' | 'progress' | 'error_code' | 'error_message'> & {
  stage: Schemas['JobRead']['stage'] | null;
  /** which run of the job this state is from (a retry starts its progress again) */
  attempts?: number;
};
export type Column = Schemas['ColumnOut'];
export type Crs = Schemas['CrsOut'];
export type Dataset = Schemas['DatasetOut'];
export type ShareLink = Schemas['ShareLinkOut'];

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Axis {
  label: string;
  min: number;
  max: number;
  ticks: number[];
  unit: string | null;
}

export interface SceneAttribute {
  name: string;
  kind: 'continuous' | 'categorical';
  min: number;
  max: number;
  categories?: string[] | null;
  unit?: string | null;
}

/** The server's axes and attributes (ChartAxis, Attribute) allow null ranges; the viewer reads
 * them as numbers (axes come only with a chart box, whose ranges are set). */
export type Scene = Omit<Schemas['SceneOut'], 'axes' | 'attributes'> & {
  axes?: { x: Axis; y: Axis; z: Axis } | null;
  attributes: SceneAttribute[];
};

export interface CreatedScene {
  scene: Scene;
  job: Job;
}

export interface PickResult {
  row: Record<string, unknown>;
}

export interface BoxResult {
  count: number;
  stats: Record<string, { min: number; max: number; mean: number }>;
  samples: Record<string, unknown>[];
}
