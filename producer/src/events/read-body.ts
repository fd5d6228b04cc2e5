import type { Context } from 'koa';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { Problem, problems } from '../problem';

/** Deeper JSON is refused: no event needs it, and recursive code downstream could overflow. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function isRawBodyError(error: unknown): error is Error & { type: string } {
  return (
    error instanceof Error && !(error instanceof Problem) && typeof (error as { type?: unknown }).type === 'string'
  );
}

export interface BodyLimits {
  /** Largest body in bytes (413 above). */
  limit: number;
  /** Bound on receiving the whole body once the headers are in (408 past it). */
  timeoutMs: number;
}

/** Refuses a compressed body: it could expand past every limit once decoded. */
export function assertIdentityEncoding(ctx: Context): void {
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') throw problems.unsupportedEncoding(encoding);
}

/** True when the content type names a charset other than UTF-8. */
export function hasForeignCharset(ctx: Context): boolean {
  const charset = ctx.request.charset;
  return Boolean(charset) && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8';
}

/**
 * Reads the raw request body within `limit` bytes and `timeoutMs`. A client that drips its body
 * slower than that gets 408 and the connection closes (the error edge sets `Connection: close`
 * for an answer given before the body was complete).
 */
export async function readRawBody(ctx: Context, { limit, timeoutMs }: BodyLimits): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(problems.requestTimeout(timeoutMs)), timeoutMs);
  });
  const reading = getRawBody(ctx.req, { limit, length: ctx.get('content-length') || null });
  // Past the timeout the read goes on until the connection closes; its late failure is moot.
  reading.catch(() => undefined);
  try {
    return await Promise.race([reading, timedOut]);
  } catch (error) {
    if (isRawBodyError(error) && error.type === 'entity.too.large') throw problems.bodyTooLarge(limit);
    if (isRawBodyError(error)) throw problems.malformedJson(`could not read the body: ${error.message}`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Parses a JSON body: valid UTF-8, valid JSON without prototype-polluting keys, nested at most
 * MAX_JSON_DEPTH levels, every number within the range of a double. Each failure is a 400
 * malformed-json problem.
 */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw problems.malformedJson('the body is not valid UTF-8');
  }
  if (text.trim() === '') throw problems.malformedJson('the body is empty');
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }) as unknown;
  } catch (error) {
    throw problems.malformedJson(error instanceof Error ? error.message : 'the body is not JSON');
  }
  if (depthOf(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw problems.malformedJson(`the JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  // JSON.parse turns 1e400 into Infinity, which the record would then carry as null: refuse it
  // rather than store other data than was sent.
  if (hasNonFiniteNumber(parsed)) {
    throw problems.malformedJson('a number is beyond the range of a double (about ±1.8e308)');
  }
  return parsed;
}

/** Whether a parsed JSON value holds Infinity or -Infinity anywhere, checked without recursion. */
export function hasNonFiniteNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'number' && !Number.isFinite(current)) return true;
    if (typeof current === 'object' && current !== null) stack.push(...Object.values(current));
  }
  return false;
}

/** Nesting depth of a parsed JSON value, counted without recursion; stops once past `limit`. */
export function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, level]);
    }
  }
  return deepest;
}
