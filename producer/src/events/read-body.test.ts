import { Problem } from '../problem';
import { jsonFlaw, parseJsonBody } from './read-body';

function problemOf(text: string): Problem {
  try {
    parseJsonBody(Buffer.from(text));
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error(`${text} parsed`);
}

describe('parseJsonBody', () => {
  // Found by the reliability suite's fuzzing: 1e400 parsed as Infinity was accepted (202) and
  // written to Kafka as null, other data than the client sent.
  it('refuses a number beyond the range of a double with 400, wherever it is', () => {
    for (const text of ['{"type":"a","data":1e400}', '{"type":"a","data":{"n":[1,-1e999]}}', '1e309']) {
      expect(problemOf(text)).toMatchObject({ status: 400, type: 'urn:event-pipeline:problem:malformed-json' });
    }
  });

  it('keeps large, small and negative-zero numbers that a double holds', () => {
    expect(parseJsonBody(Buffer.from('{"data":[1e308,-1e308,5e-324,-0,9007199254740993]}'))).toEqual({
      data: [1e308, -1e308, 5e-324, -0, 9007199254740992],
    });
  });

  it('finds non-finite numbers at any depth', () => {
    expect(jsonFlaw({ a: [1, { b: Infinity }] }, 64)).toBe('non-finite');
    expect(jsonFlaw({ a: [1, { b: 2 }], c: 'Infinity' }, 64)).toBeUndefined();
    expect(jsonFlaw(-Infinity, 64)).toBe('non-finite');
    expect(jsonFlaw([[[1]]], 2)).toBe('too-deep');
    expect(jsonFlaw([[[1]]], 3)).toBeUndefined();
  });

  // Pins a 500 found on review: the value walk spread each array into push(), and an array of
  // 300,000 numbers (a 900 KB body, under the limit) overflowed the call stack.
  it('parses a body holding an array of hundreds of thousands of items', () => {
    const body = JSON.stringify({ type: 'a', data: Array.from({ length: 300_000 }, () => 0) });
    expect(parseJsonBody(Buffer.from(body))).toMatchObject({ type: 'a' });
  });
});
