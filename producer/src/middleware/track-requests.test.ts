import { koaContext } from '../../../test/support/koa-context';
import { RequestTracker } from '../request-tracker';
import { trackRequests } from './track-requests';

describe('trackRequests', () => {
  it('counts a request while it is in progress, and lets the shut-down go once it answered', async () => {
    const tracker = new RequestTracker();
    let during = 0;
    await trackRequests(tracker)(koaContext(), async () => {
      during = tracker.inProgress;
    });
    expect(during).toBe(1);
    expect(tracker.inProgress).toBe(0);
    await expect(tracker.idle(10)).resolves.toBe(true);
  });

  it('stops counting a request that failed', async () => {
    const tracker = new RequestTracker();
    const failing = trackRequests(tracker)(koaContext(), () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('boom');
    expect(tracker.inProgress).toBe(0);
  });
});
