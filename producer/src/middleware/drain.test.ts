import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { Problem } from '../problem';
import { closeConnectionsWhileDraining, refuseWhileDraining } from './drain';

describe('closeConnectionsWhileDraining', () => {
  it('closes the connection of every answer while draining, also of a failed request', async () => {
    let draining = false;
    const close = closeConnectionsWhileDraining(() => draining);
    const before = koaContext({ method: 'GET', url: '/health/live' });
    await close(before, async () => undefined);
    expect(before.response.get('connection')).toBeUndefined();

    draining = true;
    const answered = koaContext({ method: 'GET', url: '/health/live' });
    await close(answered, async () => undefined);
    expect(answered.response.get('connection')).toBe('close');
    const failed = koaContext();
    await expect(close(failed, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(failed.response.get('connection')).toBe('close');
  });
});

describe('refuseWhileDraining', () => {
  it('when draining, answers 503 shutting-down with Retry-After, counts the request as failed and reads nothing', async () => {
    const next = jest.fn();
    const refuse = refuseWhileDraining({ isDraining: () => true, retryAfterSeconds: 7 });
    const refused = runMiddleware(refuse, koaContext(), next);
    await expect(refused).rejects.toBeInstanceOf(Problem);
    await expect(refused).rejects.toMatchObject({
      status: 503,
      type: 'urn:event-pipeline:problem:shutting-down',
      headers: { 'retry-after': '7', connection: 'close' },
    });
    expect(next).not.toHaveBeenCalled();
  });

  it('when not draining, passes the request on and counts nothing', async () => {
    const next = jest.fn(async () => undefined);
    await refuseWhileDraining({ isDraining: () => false, retryAfterSeconds: 7 })(koaContext(), next);
    expect(next).toHaveBeenCalledTimes(1);
  });
});
