import { createRecentlyProcessed } from './recently-processed';

describe('the window of recently processed events', () => {
  it('knows an event by its source and id together', () => {
    const window = createRecentlyProcessed({ maxEntries: 10, maxAgeMs: 0 });
    window.add({ source: 'a', id: '1' });
    expect(window.has({ source: 'a', id: '1' })).toBe(true);
    expect(window.has({ source: 'b', id: '1' })).toBe(false);
    expect(window.has({ source: 'a', id: '2' })).toBe(false);
    // No pair of strings can pass for another pair.
    window.add({ source: 'x:1', id: 'y' });
    expect(window.has({ source: 'x', id: ':1y' })).toBe(false);
  });

  it('tells callers apart by the authid the producer stamped, so one cannot pass for another', () => {
    const window = createRecentlyProcessed({ maxEntries: 10, maxAgeMs: 0 });
    window.add({ source: 'a', id: '1', extensions: { authid: 'mallory' } });
    expect(window.has({ source: 'a', id: '1', extensions: { authid: 'mallory' } })).toBe(true);
    expect(window.has({ source: 'a', id: '1', extensions: { authid: 'alice' } })).toBe(false);
    expect(window.has({ source: 'a', id: '1' })).toBe(false);
    window.add({ source: '1:a', id: '1' });
    expect(window.has({ source: 'a', id: '1', extensions: { authid: '1:a' } })).toBe(false);
  });

  it('holds at most maxEntries events, forgetting the oldest first', () => {
    const window = createRecentlyProcessed({ maxEntries: 3, maxAgeMs: 0 });
    for (const id of ['1', '2', '3', '4']) window.add({ source: 's', id });
    expect(window.size).toBe(3);
    expect(['1', '2', '3', '4'].map((id) => window.has({ source: 's', id }))).toEqual([false, true, true, true]);
  });

  it('forgets an event maxAgeMs after it was added', () => {
    let now = 1_000_000;
    const window = createRecentlyProcessed({ maxEntries: 10, maxAgeMs: 5000, now: () => now });
    window.add({ source: 's', id: 'old' });
    now += 4000;
    window.add({ source: 's', id: 'new' });
    expect(window.has({ source: 's', id: 'old' })).toBe(true);
    now += 1500;
    expect(window.has({ source: 's', id: 'old' })).toBe(false);
    expect(window.has({ source: 's', id: 'new' })).toBe(true);
  });

  it('refuses a size that would not bound it', () => {
    expect(() => createRecentlyProcessed({ maxEntries: 0, maxAgeMs: 0 })).toThrow(/maxEntries must be a positive/);
    expect(() => createRecentlyProcessed({ maxEntries: 1, maxAgeMs: -1 })).toThrow(/maxAgeMs/);
  });

  it('keeps how each event was finished, handled unless said otherwise', () => {
    const window = createRecentlyProcessed({ maxEntries: 10, maxAgeMs: 0 });
    window.add({ source: 's', id: 'ok' });
    window.add({ source: 's', id: 'poison' }, 'dead_lettered');
    expect(window.finishedAs({ source: 's', id: 'ok' })).toBe('handled');
    expect(window.finishedAs({ source: 's', id: 'poison' })).toBe('dead_lettered');
    expect(window.finishedAs({ source: 's', id: 'unknown' })).toBeUndefined();
    window.add({ source: 's', id: 'poison' });
    expect(window.finishedAs({ source: 's', id: 'poison' })).toBe('handled');
  });
});
