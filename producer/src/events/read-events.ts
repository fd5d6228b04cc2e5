import type { Context } from 'koa';
import { isJsonMediaType } from '@event-pipeline/common';
import type { FieldError } from '../problem';
import { problems } from '../problem';
import { assertIdentityEncoding, hasForeignCharset, parseJsonBody, readRawBody, type BodyLimits } from './read-body';
import { checkCloudEvent, itemsOf, validateEvents, type EventCandidate, type ItemLocation } from './validate';

/**
 * The ways a client may send events to `POST /events` (the CloudEvents HTTP binding's three
 * content modes, and plain JSON for clients that know nothing of CloudEvents).
 */
export type RequestMode = 'plain' | 'structured' | 'batch' | 'binary';

export const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';
export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';
export const PLAIN_MEDIA_TYPE = 'application/json';
/** For the 415's Accept-Post: binary mode takes any media type, with ce- headers. */
export const ACCEPTED_MEDIA_TYPES = [PLAIN_MEDIA_TYPE, STRUCTURED_MEDIA_TYPE, BATCH_MEDIA_TYPE];

export interface EventsRequest {
  mode: RequestMode;
  /** True when the body held an array (plain or batch mode): errors then carry an index. */
  isBatch: boolean;
  events: EventCandidate[];
}

const CE_HEADER = /^ce-(.+)$/;

/** Where the `index`th event of a request sits, for the errors that name it. */
export function itemLocation({ mode, isBatch }: Pick<EventsRequest, 'mode' | 'isBatch'>, index: number): ItemLocation {
  if (mode === 'binary') return {};
  return isBatch ? { index, pointer: `/${index}` } : { pointer: '' };
}

/** Binary mode: the request has CloudEvents attributes as `ce-` headers. */
function isBinaryMode(ctx: Context): boolean {
  return ctx.get('ce-specversion') !== '' || ctx.get('ce-id') !== '' || ctx.get('ce-type') !== '';
}

/** The content types of most requests, recognised without parsing (type-is parses every time). */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

export function detectMode(ctx: Context): RequestMode {
  const contentType = ctx.get('content-type');
  if (PLAIN_JSON.has(contentType.toLowerCase()) && !isBinaryMode(ctx)) return 'plain';
  // type-is answers null when the request has no body at all.
  const matched = ctx.is([BATCH_MEDIA_TYPE, STRUCTURED_MEDIA_TYPE]);
  if (matched === BATCH_MEDIA_TYPE) return 'batch';
  if (matched === STRUCTURED_MEDIA_TYPE) return 'structured';
  if (isBinaryMode(ctx)) return 'binary';
  if (ctx.is(PLAIN_MEDIA_TYPE)) return 'plain';
  if (matched === null) throw problems.malformedJson('the body is empty');
  throw problems.unsupportedMediaType(contentType || undefined, ACCEPTED_MEDIA_TYPES);
}

/** HTTP header values of the binding are percent-encoded where they leave printable ASCII. */
function decodeHeader(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Reads the events of a request in whichever mode it was sent, checking every attribute of
 * every item and reporting all failures at once (400 invalid-event). No defaults are filled here.
 */
export async function readEvents(
  ctx: Context,
  { maxEvents, onItems, ...limits }: BodyLimits & { maxEvents: number; onItems?: (count: number) => void },
): Promise<EventsRequest> {
  const mode = detectMode(ctx);
  assertIdentityEncoding(ctx);
  if (mode === 'binary') return { mode, isBatch: false, events: [await readBinary(ctx, limits)] };
  if (!PLAIN_JSON.has(ctx.get('content-type').toLowerCase()) && hasForeignCharset(ctx)) {
    throw problems.unsupportedMediaType(
      ctx.get('content-type'),
      ACCEPTED_MEDIA_TYPES.map((type) => `${type}; charset=utf-8`),
    );
  }
  const body = parseJsonBody(await readRawBody(ctx, limits));
  // How many events the request tried to send, counted even when it is refused.
  if (Array.isArray(body)) onItems?.(Math.min(Math.max(1, body.length), maxEvents));
  if (mode === 'plain') {
    return { mode, isBatch: Array.isArray(body), events: validateEvents(body, maxEvents) };
  }
  const isBatch = mode === 'batch';
  const items = itemsOf(body, maxEvents, { batch: isBatch });
  const errors: FieldError[] = [];
  const events: EventCandidate[] = [];
  items.forEach((item, index) => {
    const at = itemLocation({ mode, isBatch }, index);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push({ ...at, message: 'an event must be a JSON object' });
      return;
    }
    const event = checkCloudEvent(item as Record<string, unknown>, at, errors);
    if (event) events.push(event);
  });
  if (errors.length > 0) throw problems.invalidEvent(errors);
  return { mode, isBatch, events };
}

async function readBinary(ctx: Context, limits: BodyLimits): Promise<EventCandidate> {
  const attributes: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, raw] of Object.entries(ctx.headers)) {
    const match = CE_HEADER.exec(name);
    if (!match || raw === undefined) continue;
    const value = decodeHeader(Array.isArray(raw) ? raw.join(',') : raw);
    if (value === undefined) {
      errors.push({ header: name, attribute: match[1]!, message: 'is not valid percent-encoding' });
      continue;
    }
    attributes[match[1]!] = value;
  }
  for (const name of ['datacontenttype', 'data', 'data_base64']) {
    if (name in attributes) {
      errors.push({
        header: `ce-${name}`,
        attribute: name,
        message: 'is not a header in binary mode; the body is the data',
      });
    }
  }

  const raw = await readRawBody(ctx, limits);
  const contentType = ctx.get('content-type');
  if (raw.length > 0) {
    if (contentType === '') {
      throw problems.unsupportedMediaType(undefined, ['the media type of the data, with ce- headers']);
    }
    attributes.datacontenttype = contentType;
    if (isJsonMediaType(contentType)) {
      if (hasForeignCharset(ctx)) throw problems.unsupportedMediaType(contentType, [`${ctx.type}; charset=utf-8`]);
      attributes.data = parseJsonBody(raw);
    } else {
      attributes.data = raw;
    }
  }
  const event = errors.length === 0 ? checkCloudEvent(attributes, {}, errors) : undefined;
  if (!event) throw problems.invalidEvent(errors);
  return event;
}
