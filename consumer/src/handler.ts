import { resolve as resolvePath } from 'node:path';
import { PipelineError, type CloudEvent, type Logger, type MessageHeaders } from '@event-pipeline/common';
import type { DataSchemaRef } from './data-decoder';

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
  /** For Avro data (decoded into `event.data` before the handler runs): the schema it was written with. */
  dataSchema?: DataSchemaRef;
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
export class NonRetriableError extends PipelineError {
  override readonly name: string = 'NonRetriableError';
  readonly retriable = false;
}

export type HandlerFactory = (deps: { logger: Logger }) => EventHandler | Promise<EventHandler>;

function isHandler(value: unknown): value is EventHandler {
  return typeof value === 'object' && value !== null && typeof (value as EventHandler).handle === 'function';
}

/**
 * Loads a user handler module. It exports `createHandler({ logger })` or a `handler` object, or
 * has either as its default export (`module.exports = createHandler` too). Relative paths
 * resolve from the working directory.
 */
export async function loadHandlerModule(specifier: string, logger: Logger): Promise<EventHandler> {
  const path = specifier.startsWith('.') || specifier.startsWith('/') ? resolvePath(specifier) : specifier;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`HANDLER_MODULE ${specifier} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const fallback = loaded.default as Record<string, unknown> | ((...args: unknown[]) => unknown) | undefined;
  const factory = [loaded.createHandler, typeof fallback === 'object' ? fallback?.createHandler : fallback].find(
    (candidate) => typeof candidate === 'function',
  ) as HandlerFactory | undefined;
  if (factory) {
    const handler: unknown = await factory({ logger });
    if (isHandler(handler)) return handler;
    throw new Error(`HANDLER_MODULE ${specifier}: createHandler() returned no object with a handle() method`);
  }
  const object = [loaded.handler, typeof fallback === 'object' ? fallback?.handler : undefined, fallback, loaded].find(
    isHandler,
  );
  if (object) return object;
  throw new Error(`HANDLER_MODULE ${specifier} exports neither createHandler() nor a handler with a handle() method`);
}
