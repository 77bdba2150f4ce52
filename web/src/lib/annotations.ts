/**
 * Annotations as the client reads them (GET /scenes/{id}/annotations and the live
 * `annotations:<scene_id>` channel, docs/annotations.md). Pure.
 *
 * Positions are stored in the scene's frame: the dataset's coordinates when the viewer
 * knows the shift from its tileset frame (`queryOffset`, lib/sceneframe.ts), else the
 * tileset's own (georeferenced and chart scenes).
 */
import type { components } from '../api-types';
import { shift, type Vec3 } from './sceneframe';

export type Annotation = components['schemas']['AnnotationOut'];

/** The server's limits (annotations/schemas.py), checked here to answer before a round trip. */
export const MAX_TEXT = 280;
export const MAX_PER_SCENE = 200;

export function annotationChannel(sceneId: string): string {
  return `annotations:${sceneId}`;
}

/** Tileset frame → the stored frame. */
export function toStored(point: Vec3, queryOffset: Vec3 | null): Vec3 {
  return queryOffset ? shift(point, queryOffset) : [point[0], point[1], point[2]];
}

/** Stored frame → tileset frame. */
export function fromStored(position: readonly number[], queryOffset: Vec3 | null): Vec3 {
  return queryOffset ? shift(position, queryOffset, -1) : [position[0]!, position[1]!, position[2]!];
}

/** The text to send, or why not: trimmed, not blank, within the limit, no control characters. */
export function checkText(raw: string): { text: string } | { error: string } {
  const text = raw.trim();
  if (!text) return { error: 'Write a note first.' };
  if ([...text].length > MAX_TEXT) return { error: `A note holds at most ${MAX_TEXT} characters.` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/.test(text)) return { error: 'A note is one line of text.' };
  return { text };
}

/** Whether the signed-in user may remove it (the server also lets workspace owners). */
export function isOwn(annotation: Annotation, userId: string | null): boolean {
  return userId !== null && annotation.author_id === userId;
}

/** A label short enough to draw in 3D (the list shows the whole text). */
export function labelText(text: string, max = 40): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function isFiniteTriple(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
}

function parseOne(value: unknown): Annotation | null {
  if (typeof value !== 'object' || value === null) return null;
  const a = value as Record<string, unknown>;
  if (typeof a.id !== 'string' || typeof a.text !== 'string' || !isFiniteTriple(a.position)) return null;
  return {
    id: a.id,
    scene_id: typeof a.scene_id === 'string' ? a.scene_id : '',
    text: a.text,
    position: a.position,
    row_id: typeof a.row_id === 'number' ? a.row_id : null,
    author_id: typeof a.author_id === 'string' ? a.author_id : null,
    author_name: typeof a.author_name === 'string' ? a.author_name : null,
    created_at: typeof a.created_at === 'string' ? a.created_at : '',
  };
}

/** The list a live message carries (malformed entries dropped), or null when it is not one. */
export function parseAnnotationsMessage(value: unknown): { sceneId: string; annotations: Annotation[] } | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.type !== 'annotations' || typeof m.scene_id !== 'string' || !Array.isArray(m.annotations)) return null;
  const annotations = m.annotations.map(parseOne).filter((a): a is Annotation => a !== null);
  return { sceneId: m.scene_id, annotations };
}

/** What changed between two lists (by id): what to draw and what to take away. */
export function diffAnnotations(before: readonly Annotation[], after: readonly Annotation[]): { added: Annotation[]; removed: string[] } {
  const old = new Set(before.map((a) => a.id));
  const now = new Set(after.map((a) => a.id));
  return { added: after.filter((a) => !old.has(a.id)), removed: [...old].filter((id) => !now.has(id)) };
}
