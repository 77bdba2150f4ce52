/** Talks to /api/v1: tokens (with one refresh on 401), problem+json errors, share-link mode. */
import { type Problem, parseProblem, problemMessage } from './lib/problem';
import type {
  BoxResult, CreatedScene, Dataset, Job, Me, Page, PickResult, Scene, ShareLink, TokenPair, WorkspaceRef,
} from './lib/types';
import type { EncodingRequest } from './lib/encoding';

const TOKENS_KEY = 'spatialviz.tokens';
const WORKSPACE_KEY = 'spatialviz.workspace';
export const API = '/api/v1';

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problemMessage(problem));
    this.name = 'ApiError';
  }
}

let tokens: TokenPair | null = load();
let shareToken: string | null = null;
const listeners = new Set<() => void>();

function load(): TokenPair | null {
  try {
    const raw = localStorage.getItem(TOKENS_KEY);
    return raw ? (JSON.parse(raw) as TokenPair) : null;
  } catch {
    return null;
  }
}

function store(next: TokenPair | null): void {
  tokens = next;
  if (next) localStorage.setItem(TOKENS_KEY, JSON.stringify(next));
  else localStorage.removeItem(TOKENS_KEY);
  listeners.forEach((f) => f());
}

export function onAuthChange(f: () => void): void {
  listeners.add(f);
}

export function accessToken(): string | null {
  return tokens?.access_token ?? null;
}

export function isSignedIn(): boolean {
  return tokens !== null;
}

/** Read-only mode for /scenes/{id}?share=TOKEN: the token rides on every scene request. */
export function setShareToken(token: string | null): void {
  shareToken = token;
}

export function getShareToken(): string | null {
  return shareToken;
}

export function savedWorkspace(): string | null {
  return localStorage.getItem(WORKSPACE_KEY);
}

export function saveWorkspace(id: string): void {
  localStorage.setItem(WORKSPACE_KEY, id);
}

interface RequestOptions {
  json?: unknown;
  form?: Record<string, string>;
  body?: BodyInit;
  query?: Record<string, string | number | null | undefined>;
  headers?: Record<string, string>;
  auth?: boolean;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}, retried = false): Promise<T> {
  const url = new URL(path.startsWith('/') ? path : `${API}/${path}`, location.origin);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== null && v !== undefined) url.searchParams.set(k, String(v));
  if (shareToken && !url.searchParams.has('share')) url.searchParams.set('share', shareToken);
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...options.headers };
  let body: BodyInit | undefined = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = new URLSearchParams(options.form);
  }
  if (options.auth !== false && tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  const response = await fetch(url, { method, headers, body });
  if (response.status === 401 && !retried && options.auth !== false && tokens?.refresh_token) {
    if (await refresh()) return request<T>(method, path, options, true);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw new ApiError(parseProblem(response.status, data, `${response.status} ${response.statusText}`));
  return data as T;
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time; a failed refresh signs out (rotation: the old pair is gone). */
export function refresh(): Promise<boolean> {
  if (!tokens) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const pair = await request<TokenPair>('POST', `${API}/auth/refresh`, { json: { refresh_token: tokens.refresh_token }, auth: false }, true);
      store(pair);
      return true;
    } catch {
      store(null);
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function signIn(email: string, password: string): Promise<void> {
  store(await request<TokenPair>('POST', `${API}/auth/token`, { form: { username: email, password, grant_type: 'password' }, auth: false }));
}

export async function register(email: string, password: string, displayName: string): Promise<void> {
  await request('POST', `${API}/auth/register`, { json: { email, password, display_name: displayName || null }, auth: false });
  await signIn(email, password);
}

export async function signOut(): Promise<void> {
  try {
    if (tokens) await request('POST', `${API}/auth/logout`, {}, true);
  } catch {
    // Signing out locally matters more than telling the server.
  } finally {
    store(null);
  }
}

export const me = () => request<Me>('GET', `${API}/me`);
export const workspaces = () => request<Page<WorkspaceRef> | WorkspaceRef[]>('GET', `${API}/workspaces`);
export const listDatasets = (workspaceId: string, cursor?: string | null) =>
  request<Page<Dataset>>('GET', `${API}/datasets`, { query: { workspace_id: workspaceId, cursor, limit: 50 } });
export const getDataset = (id: string) => request<Dataset>('GET', `${API}/datasets/${id}`);
export const getJob = (id: string) => request<Job>('GET', `${API}/jobs/${id}`);
export const createScene = (body: EncodingRequest) => request<CreatedScene>('POST', `${API}/scenes`, { json: body });
export const getScene = (id: string) => request<Scene>('GET', `${API}/scenes/${id}`);
export const pickRow = (sceneId: string, row: number) =>
  request<PickResult>('POST', `${API}/scenes/${sceneId}/query`, { json: { kind: 'pick', row } });
/** A box in the scene's frame (tile positions plus the tileset's centre; lib/sceneframe.ts): the server maps it to the dataset's rows. */
export const boxQuery = (sceneId: string, min: number[], max: number[]) =>
  request<BoxResult>('POST', `${API}/scenes/${sceneId}/query`, { json: { kind: 'box', frame: 'scene', min, max } });
export const createShareLink = (sceneId: string) => request<ShareLink>('POST', `${API}/scenes/${sceneId}/share-links`, { json: {} });
export const uploadRaw = (workspaceId: string, file: File) =>
  request<{ dataset: Dataset; job: Job }>('POST', `${API}/datasets`, {
    query: { workspace_id: workspaceId, filename: file.name },
    body: file,
    headers: { 'Content-Type': 'application/octet-stream' },
  });

export function usdzUrl(sceneId: string): string {
  const url = new URL(`${API}/scenes/${sceneId}/export.usdz`, location.origin);
  if (shareToken) url.searchParams.set('share', shareToken);
  return url.pathname + url.search;
}
