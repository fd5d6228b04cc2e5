import type { Context } from 'koa';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { problems } from '../problem';

export const ACCEPTED_MEDIA_TYPES = ['application/json'];

/** Deeper JSON is refused: no event needs it, and recursive code downstream could overflow. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function isRawBodyError(error: unknown): error is Error & { type: string } {
  return error instanceof Error && typeof (error as { type?: unknown }).type === 'string';
}

/**
 * Reads a JSON request body: the content type must be JSON in UTF-8, the body within `limit`
 * bytes, valid UTF-8 and valid JSON without prototype-polluting keys. Each failure is a
 * problem with its own status (415, 413, 400).
 */
export async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  const contentType = ctx.get('content-type');
  const matched = ctx.is(ACCEPTED_MEDIA_TYPES);
  // type-is answers null when the request has no body at all.
  if (matched === null) throw problems.malformedJson('the body is empty');
  if (!matched) throw problems.unsupportedMediaType(contentType || undefined, ACCEPTED_MEDIA_TYPES);
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') throw problems.unsupportedEncoding(encoding);
  const charset = ctx.request.charset;
  if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    throw problems.unsupportedMediaType(
      contentType,
      ACCEPTED_MEDIA_TYPES.map((type) => `${type}; charset=utf-8`),
    );
  }

  let raw: Buffer;
  try {
    raw = await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || null });
  } catch (error) {
    if (isRawBodyError(error) && error.type === 'entity.too.large') throw problems.bodyTooLarge(limit);
    if (isRawBodyError(error)) throw problems.malformedJson(`could not read the body: ${error.message}`);
    throw error;
  }

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
  return parsed;
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
