import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa, { type ParameterizedContext } from 'koa';

/**
 * A real Koa context for a request without a body, for calling one middleware directly, as
 * Koa itself would. Header names are lower case, as Node gives them.
 */
export function koaContext<StateT = Record<string, unknown>>({
  method = 'POST',
  url = '/events',
  headers = {},
}: { method?: string; url?: string; headers?: Record<string, string> } = {}): ParameterizedContext<StateT> {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.headers = headers;
  return new Koa().createContext<StateT>(req, new ServerResponse(req));
}

/** Calls one middleware as koa-compose does: a synchronous throw becomes a rejection. */
export function runMiddleware<C>(
  middleware: (ctx: C, next: () => Promise<unknown>) => unknown,
  ctx: C,
  next: () => Promise<unknown> = async () => undefined,
): Promise<unknown> {
  return new Promise((resolve) => resolve(middleware(ctx, next)));
}
