import { describe, expect, it } from 'vitest';
import {
  annotationChannel, checkText, diffAnnotations, fromStored, isOwn, labelText, MAX_TEXT, parseAnnotationsMessage, toStored,
  type Annotation,
} from '../src/lib/annotations';

const note = (id: string, author: string | null = 'u1'): Annotation => ({
  id, scene_id: 's', text: `note ${id}`, position: [1, 2, 3], row_id: null, author_id: author, author_name: null, created_at: '',
});

describe('annotations', () => {
  it('names the live channel after the scene', () => {
    expect(annotationChannel('abc')).toBe('annotations:abc');
  });

  it('stores positions in the dataset frame when the shift is known, and back', () => {
    const offset: [number, number, number] = [1000, 2000, 30];
    const stored = toStored([1, -2, 0.5], offset);
    expect(stored).toEqual([1001, 1998, 30.5]);
    expect(fromStored(stored, offset)).toEqual([1, -2, 0.5]);
    expect(toStored([1, 2, 3], null)).toEqual([1, 2, 3]);
    expect(fromStored([1, 2, 3], null)).toEqual([1, 2, 3]);
  });

  it('checks the text as the server does', () => {
    expect(checkText('  hello ')).toEqual({ text: 'hello' });
    expect(checkText('   ')).toHaveProperty('error');
    expect(checkText('a\nb')).toHaveProperty('error');
    expect(checkText('x'.repeat(MAX_TEXT))).toEqual({ text: 'x'.repeat(MAX_TEXT) });
    expect(checkText('x'.repeat(MAX_TEXT + 1))).toHaveProperty('error');
    // Characters, not UTF-16 units: 280 emoji fit.
    expect(checkText('😀'.repeat(MAX_TEXT))).toHaveProperty('text');
  });

  it('offers delete on own notes only', () => {
    expect(isOwn(note('a', 'u1'), 'u1')).toBe(true);
    expect(isOwn(note('a', 'u2'), 'u1')).toBe(false);
    expect(isOwn(note('a', null), null)).toBe(false);
  });

  it('shortens long labels', () => {
    expect(labelText('short')).toBe('short');
    const long = labelText('y'.repeat(100), 10);
    expect([...long]).toHaveLength(10);
    expect(long.endsWith('…')).toBe(true);
  });

  it('parses the live message and drops malformed entries', () => {
    const parsed = parseAnnotationsMessage({
      type: 'annotations', channel: 'annotations:s', scene_id: 's',
      annotations: [note('a'), { id: 'b', text: 't', position: [1, 2] }, { id: 'c', text: 't', position: [0, 0, null] }],
    });
    expect(parsed?.sceneId).toBe('s');
    expect(parsed?.annotations.map((a) => a.id)).toEqual(['a']);
    expect(parseAnnotationsMessage({ type: 'job', job: {} })).toBeNull();
    expect(parseAnnotationsMessage('nope')).toBeNull();
  });

  it('diffs lists by id', () => {
    const { added, removed } = diffAnnotations([note('a'), note('b')], [note('b'), note('c')]);
    expect(added.map((a) => a.id)).toEqual(['c']);
    expect(removed).toEqual(['a']);
  });
});
