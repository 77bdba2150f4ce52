/** The API's JSON as the client reads it (see DESIGN.md's API map; web/README.md lists the fields used). */
import type { DatasetCrs } from './crs';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface WorkspaceRef {
  id: string;
  name: string;
  role: string;
}

export interface Me {
  id: string;
  email: string;
  display_name: string | null;
  workspaces: WorkspaceRef[];
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
  error_code: string | null;
  error_message: string | null;
}

export interface Column {
  name: string;
  type: string;
  role: string | null;
  unit: string | null;
}

export interface Dataset {
  id: string;
  name: string;
  status: string;
  format: string | null;
  row_count: number | null;
  schema: { columns: Column[] } | null;
  stats: Record<string, unknown> | null;
  crs: DatasetCrs | null;
  ingest_job_id: string | null;
  scene_ids: string[];
}

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

export interface Scene {
  id: string;
  dataset_id: string;
  status: string;
  encoding: Record<string, unknown>;
  axes?: { x: Axis; y: Axis; z: Axis } | null;
  attributes: SceneAttribute[];
  tileset_url: string | null;
  share_url?: string | null;
}

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

export interface ShareLink {
  id: string;
  url: string;
  expires_at: string;
}
