import { keepHeartbeating, MembershipLostError } from './heartbeat-keeper';

describe('the heartbeat keeper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('heartbeats once per interval until stopped', async () => {
    const heartbeat = jest.fn(async () => undefined);
    const keeper = keepHeartbeating(heartbeat, 100);
    await jest.advanceTimersByTimeAsync(350);
    expect(heartbeat).toHaveBeenCalledTimes(3);
    keeper.stop();
    await jest.advanceTimersByTimeAsync(1000);
    expect(heartbeat).toHaveBeenCalledTimes(3);
    expect(() => keeper.check()).not.toThrow();
  });

  it('when a heartbeat fails, then check() throws MembershipLostError with the first failure as its cause', async () => {
    const rebalancing = new Error('The group is rebalancing, so a rejoin is needed');
    const heartbeat = jest
      .fn<Promise<void>, []>()
      .mockResolvedValueOnce(undefined)
      .mockRejectedValueOnce(rebalancing)
      .mockRejectedValue(new Error('later failure'));
    const keeper = keepHeartbeating(heartbeat, 100);
    await jest.advanceTimersByTimeAsync(100);
    expect(() => keeper.check()).not.toThrow();
    await jest.advanceTimersByTimeAsync(200);
    keeper.stop();

    let thrown: unknown;
    try {
      keeper.check();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MembershipLostError);
    expect(thrown).toMatchObject({ message: rebalancing.message, cause: rebalancing, retriable: false });
  });

  it('heartbeats nothing before the first interval has passed', async () => {
    const heartbeat = jest.fn(async () => undefined);
    const keeper = keepHeartbeating(heartbeat, 100);
    await jest.advanceTimersByTimeAsync(99);
    keeper.stop();
    expect(heartbeat).not.toHaveBeenCalled();
  });
});
