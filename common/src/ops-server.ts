import { createServer, type Server } from 'node:http';
import { errorMessage } from './errors';
import type { Logger } from './logger';
import { exposeMetrics, type MetricsRegistry } from './metrics';

export interface OpsServerOptions {
  registry: MetricsRegistry;
  isReady: () => boolean;
  logger: Logger;
}

/**
 * The operational endpoints of a process without an API of its own (the consumer):
 * `/metrics`, `/health/live` (the process is up), `/health/ready` and `/health` (it does work).
 */
export function createOpsServer({ registry, isReady, logger }: OpsServerOptions): Server {
  return createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/health/live':
        json(200, { status: 'live' });
        return;
      case '/health':
      case '/health/ready':
        if (isReady()) json(200, { status: 'ready' });
        else json(503, { status: 'not ready' });
        return;
      case '/metrics':
        exposeMetrics(registry, request).then(
          ({ contentType, body }) => {
            response.writeHead(200, { 'content-type': contentType, vary: 'accept' });
            response.end(body);
          },
          (error: unknown) => {
            logger.error({ err: errorMessage(error) }, 'metrics collection failed');
            json(500, { error: 'metrics collection failed' });
          },
        );
        return;
      default:
        json(404, { error: 'not found' });
    }
  });
}
