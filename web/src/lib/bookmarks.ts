/**
 * Camera bookmarks: named views of one scene, kept in the browser (localStorage), one list
 * per scene. Why not the API: a view is one person's working state (annotations are what
 * a team shares, through the API); keeping views local costs no request, works offline and
 * through read-only share links, and leaves no server data to bound or audit. Pure apart
 * from the Storage it is given.
 */
import type { Pose, V3 } from './flyto';

export interface Bookmark extends Pose {
  name: string;
}

export const MAX_BOOKMARKS = 50;
export const MAX_NAME = 60;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function bookmarkKey(sceneId: string): string {
  return `spatialviz.bookmarks.${sceneId}`;
}

function isV3(v: unknown): v is V3 {
  return Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
}

function isBookmark(b: unknown): b is Bookmark {
  if (typeof b !== 'object' || b === null) return false;
  const { name, position, target } = b as Record<string, unknown>;
  return typeof name === 'string' && isV3(position) && isV3(target);
}

/** The saved list; anything malformed (another version, a hand edit) is dropped, not thrown. */
export function loadBookmarks(storage: StorageLike, sceneId: string): Bookmark[] {
  let raw: unknown;
  try {
    raw = JSON.parse(storage.getItem(bookmarkKey(sceneId)) ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return (raw as unknown[])
    .filter(isBookmark)
    .slice(0, MAX_BOOKMARKS)
    .map((b) => ({ name: b.name.slice(0, MAX_NAME), position: b.position, target: b.target }));
}

/**
 * Adds (or, for a name already used, replaces) a view; the oldest goes past the limit.
 * Returns the new list, saved; a full or refused storage leaves the list unsaved, not lost.
 */
export function saveBookmark(storage: StorageLike, sceneId: string, list: readonly Bookmark[], bookmark: Bookmark): Bookmark[] {
  const name = bookmark.name.trim().slice(0, MAX_NAME) || `View ${list.length + 1}`;
  const next = [...list.filter((b) => b.name !== name), { ...bookmark, name }].slice(-MAX_BOOKMARKS);
  persist(storage, sceneId, next);
  return next;
}

export function removeBookmark(storage: StorageLike, sceneId: string, list: readonly Bookmark[], name: string): Bookmark[] {
  const next = list.filter((b) => b.name !== name);
  persist(storage, sceneId, next);
  return next;
}

function persist(storage: StorageLike, sceneId: string, list: readonly Bookmark[]): void {
  try {
    storage.setItem(bookmarkKey(sceneId), JSON.stringify(list));
  } catch {
    // Quota or private mode: the list lives on in the page.
  }
}
