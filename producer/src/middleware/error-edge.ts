import type { Span } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import { errorMessage, type Logger } from '@event-pipeline/common';
import { Problem, PROBLEM_CONTENT_TYPE, problems } from '../problem';

/** Any failure as the Problem it answers: exposed 4xx HTTP errors keep their status, all else is a hidden 500. */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const status = (error as { status?: unknown })?.status;
  const expose = (error as { expose?: unknown })?.expose === true;
  if (typeof status === 'number' && status >= 400 && status < 500 && expose) {
    const headers = (error as { headers?: Record<string, string> }).headers ?? {};
    return new Problem(status, `http-${status}`, errorMessage(error), { headers });
  }
  return new Problem(500, 'internal', 'Internal server error', {
    detail: 'an unexpected error occurred',
    expose: false,
    cause: error,
  });
}

/**
 * Runs the rest of the request and answers whatever it failed with as problem+json, and so a
 * bare error status that Koa or the router left without a body (404, 405). Server faults are
 * logged; the request's span, when there is one, says why it was answered so.
 */
export async function answerFailures(
  ctx: Context,
  next: Next,
  logger: Pick<Logger, 'warn' | 'error'>,
  span: Span | undefined,
): Promise<void> {
  try {
    await next();
    if (ctx.body === undefined && ctx.status >= 400) throw problems.ofStatus(ctx.status, ctx.method, ctx.path);
  } catch (error) {
    const problem = toProblem(error);
    span?.setAttribute('problem.type', problem.type);
    if (problem.status >= 500) span?.recordException(problem.cause instanceof Error ? problem.cause : problem);
    // A dependency's own words stay here and in the trace; the client's answer has none of them.
    if (problem.status === 503 && problem.cause !== undefined) {
      logger.warn(
        { err: errorMessage(problem.cause), problem: problem.type, method: ctx.method, path: ctx.path },
        'request refused: a dependency is unavailable',
      );
    }
    if (problem.status >= 500 && problem.status !== 503) {
      logger.error(
        { err: errorMessage(problem.cause ?? problem), method: ctx.method, path: ctx.path },
        'request failed',
      );
    }
    ctx.status = problem.status;
    ctx.set(problem.headers);
    // An answer before the whole body arrived (413, 415, ...) closes the connection: the rest
    // of the body is not read, so the connection cannot carry another request.
    if (!ctx.req.complete) ctx.set('connection', 'close');
    ctx.type = PROBLEM_CONTENT_TYPE;
    ctx.body = JSON.stringify(problem.toJSON(ctx.path));
  }
}
