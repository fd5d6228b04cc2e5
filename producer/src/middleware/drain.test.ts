import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { Problem } from '../problem';
import { refuseWhileDraining } from './drain';

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
