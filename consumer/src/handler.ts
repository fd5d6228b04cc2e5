import { resolve as resolvePath } from 'node:path';
import type { CloudEvent, Logger, MessageHeaders } from '@event-pipeline/common';

/** Where an event came from and which attempt this is. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: MessageHeaders;
  /** When the producer accepted the event, epoch ms. */
  acceptedAt: number;
  /** 1 on the first attempt. */
  attempt: number;
  logger: Logger;
  /** Aborted when the worker is stopping; long handlers should give up and throw. */
  signal: AbortSignal;
}

/**
 * What the worker runs for each event. Resolve to acknowledge it; throw to fail it. A failure
 * is retried with backoff unless the error says `retriable: false` (see NonRetriableError);
 * when attempts run out, or at once for non-retriable errors, the event is dead-lettered.
 */
export interface EventHandler {
  handle(event: CloudEvent, context: HandlerContext): Promise<void> | void;
}

/** Throw it (or any error with `retriable = false`) for a failure that retrying cannot fix. */
export class NonRetriableError extends Error {
  override readonly name: string = 'NonRetriableError';
  readonly retriable = false;
}

export function isRetriable(error: unknown): boolean {
  return !(typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === false);
}

export type HandlerFactory = (deps: { logger: Logger }) => EventHandler | Promise<EventHandler>;

function isHandler(value: unknown): value is EventHandler {
  return typeof value === 'object' && value !== null && typeof (value as EventHandler).handle === 'function';
}

/**
 * Loads a user handler module: it exports `createHandler({ logger })`, or a `handler` object,
 * or either as its default export. Relative paths resolve from the working directory.
 */
export async function loadHandlerModule(specifier: string, logger: Logger): Promise<EventHandler> {
  const path = specifier.startsWith('.') || specifier.startsWith('/') ? resolvePath(specifier) : specifier;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`HANDLER_MODULE ${specifier} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const candidates = [loaded, loaded.default as Record<string, unknown> | undefined].filter(
    (candidate): candidate is Record<string, unknown> => typeof candidate === 'object' && candidate !== null,
  );
  for (const candidate of candidates) {
    if (typeof candidate.createHandler === 'function') {
      const handler: unknown = await (candidate.createHandler as HandlerFactory)({ logger });
      if (isHandler(handler)) return handler;
      throw new Error(`HANDLER_MODULE ${specifier}: createHandler() returned no object with a handle() method`);
    }
    if (isHandler(candidate.handler)) return candidate.handler;
    if (isHandler(candidate)) return candidate;
  }
  throw new Error(`HANDLER_MODULE ${specifier} exports neither createHandler() nor a handler with a handle() method`);
}
