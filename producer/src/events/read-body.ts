import type { Context } from 'koa';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { problems } from '../problem';

export const ACCEPTED_MEDIA_TYPES = ['application/json'];

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
  if (!ctx.is(ACCEPTED_MEDIA_TYPES))
    throw problems.unsupportedMediaType(contentType || undefined, ACCEPTED_MEDIA_TYPES);
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
  try {
    return secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }) as unknown;
  } catch (error) {
    throw problems.malformedJson(error instanceof Error ? error.message : 'the body is not JSON');
  }
}
