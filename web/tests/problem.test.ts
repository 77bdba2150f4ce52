import { describe, expect, it } from 'vitest';
import { parseProblem, problemMessage } from '../src/lib/problem';

describe('parseProblem', () => {
  it('reads title, detail and field errors', () => {
    const p = parseProblem(422, {
      title: 'Validation failed',
      detail: 'Check the form',
      errors: [{ field: 'body.email', message: 'Not an email' }, { field: ['body', 'password'], message: 'Too short' }],
    });
    expect(p).toEqual({ status: 422, title: 'Validation failed', detail: 'Check the form', fields: { email: 'Not an email', password: 'Too short' } });
    expect(problemMessage(p)).toBe('Validation failed: Check the form');
  });
  it('copes with FastAPI default bodies and garbage', () => {
    expect(parseProblem(422, { detail: [{ loc: ['body', 'x'], msg: 'required' }] }).fields).toEqual({ x: 'required' });
    expect(parseProblem(500, 'oops').title).toBe('Request failed');
  });
});
