import { Problem } from '../problem';
import { validateEvents } from './validate';

function problemOf(run: () => unknown): Problem {
  try {
    run();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('expected a problem');
}

describe('validateEvents', () => {
  it('accepts one event object and a batch of them', () => {
    expect(validateEvents({ type: 'a.b', data: { x: 1 } }, 10)).toEqual([{ type: 'a.b', data: { x: 1 } }]);
    expect(
      validateEvents([{ type: 'a' }, { type: 'b', id: 'id-1', subject: 's', time: '2026-01-02T03:04:05Z' }], 10),
    ).toHaveLength(2);
  });

  it('names the field of a single event by pointer, without an index', () => {
    const problem = problemOf(() => validateEvents({ data: 1 }, 10));
    expect(problem.status).toBe(400);
    expect(problem.extensions.errors).toEqual([expect.objectContaining({ pointer: '/type' })]);
    expect((problem.extensions.errors as Array<{ index?: number }>)[0]!.index).toBeUndefined();
  });

  it('reports every failing item of a batch with its index', () => {
    const problem = problemOf(() =>
      validateEvents([{ type: 'ok' }, { type: '' }, { type: 'x', time: 'noon', extra: true }], 10),
    );
    expect(problem.extensions.errors).toEqual([
      expect.objectContaining({ index: 1, pointer: '/1/type' }),
      expect.objectContaining({ index: 2, pointer: '/2/time', message: 'must be an RFC 3339 date-time' }),
      expect.objectContaining({ index: 2, pointer: '/2/extra' }),
    ]);
  });

  it('refuses bodies that are not events, empty batches and batches over the limit', () => {
    for (const body of [null, 'text', 42, true]) expect(problemOf(() => validateEvents(body, 10)).status).toBe(400);
    expect(problemOf(() => validateEvents([], 10)).extensions.errors).toEqual([
      expect.objectContaining({ message: 'the batch is empty' }),
    ]);
    expect(problemOf(() => validateEvents([{ type: 'a' }, { type: 'b' }], 1)).detail).toMatch(/field error/);
  });

  it('names each unknown member of a plain event, not only the first', () => {
    const problem = problemOf(() => validateEvents({ type: 'a', colour: 'red', size: 2 }, 10));
    expect(problem.extensions.errors).toEqual([
      expect.objectContaining({ pointer: '/colour' }),
      expect.objectContaining({ pointer: '/size' }),
    ]);
  });

  it('escapes JSON pointer characters in member names', () => {
    const problem = problemOf(() => validateEvents({ type: 'a', 'a/b~c': 1 }, 10));
    expect(problem.extensions.errors).toEqual([expect.objectContaining({ pointer: '/a~1b~0c' })]);
  });
});
