import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { withTimeout } from '@event-pipeline/common';
import { problems } from '../problem';

/** Deeper JSON is refused: no event needs it, and recursive code downstream could overflow. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** raw-body's errors carry a string `type` (e.g. 'entity.too.large'). */
function bodyProblem(error: unknown, limit: number): unknown {
  if (!(error instanceof Error)) return error;
  const { type } = error as Error & { type?: unknown };
  if (typeof type !== 'string') return error;
  if (type === 'entity.too.large') return problems.bodyTooLarge(limit);
  return problems.malformedJson(`could not read the body: ${error.message}`);
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
  const length = ctx.req.headers['content-length'];
  if (length !== undefined) {
    let arrived = bodyAlreadyArrived(ctx.req, length, limit);
    // A small body comes in the same read from the socket as its headers, but the HTTP parser
    // hands the request over at its headers and the body only after this turn of the event
    // loop: one check after it takes the body at once, without stream listeners or a timer.
    if (!arrived && !ctx.req.complete && Number(length) <= SAME_READ_BYTES) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      arrived = bodyAlreadyArrived(ctx.req, length, limit);
    }
    if (arrived) return arrived;
  }
  const reading = getRawBody(ctx.req, { limit, length: length || null }).catch((error: unknown) => {
    throw bodyProblem(error, limit);
  });
  // Past the timeout the read goes on until the connection closes; its late failure is moot.
  return withTimeout(reading, timeoutMs, () => problems.requestTimeout(timeoutMs));
}

/** Bodies up to this size are looked for once more after the turn their headers came in. */
const SAME_READ_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * The body of a request whose every byte the HTTP parser already holds (a small body arrives with
 * its headers, as most events do): taken at once, without stream listeners or a timer. Undefined
 * when any of it is still to come, or it does not match its Content-Length: the stream path then
 * reads it and answers what is wrong.
 */
function bodyAlreadyArrived(request: IncomingMessage, contentLength: string, limit: number): Buffer | undefined {
  if (!request.complete || request.readableFlowing !== null) return undefined;
  const length = Number(contentLength);
  if (!Number.isSafeInteger(length) || length > limit || request.readableLength !== length) return undefined;
  if (length === 0) return EMPTY;
  const body = request.read() as Buffer | null;
  return body?.length === length ? body : undefined;
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
  const flaw = jsonFlaw(parsed, MAX_JSON_DEPTH);
  if (flaw === 'too-deep') throw problems.malformedJson(`the JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (flaw === 'non-finite') {
    throw problems.malformedJson('a number is beyond the range of a double (about ±1.8e308)');
  }
  return parsed;
}

/**
 * One walk over a parsed JSON value, without recursion or spreading (a body may hold an array
 * of hundreds of thousands of items): `too-deep` when it nests deeper than `maxDepth`,
 * `non-finite` when it holds a number beyond a double's range (JSON.parse turns 1e400 into
 * Infinity, which the record would carry as null: other data than was sent).
 */
export function jsonFlaw(value: unknown, maxDepth: number): 'too-deep' | 'non-finite' | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'non-finite';
  const stack: Array<[object, number]> = typeof value === 'object' && value !== null ? [[value, 1]] : [];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (depth > maxDepth) return 'too-deep';
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'number') {
        if (!Number.isFinite(child)) return 'non-finite';
      } else if (typeof child === 'object' && child !== null) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
