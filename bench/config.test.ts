import path from 'node:path';
import { compareArgs } from './config';

describe("the compare scripts' command line", () => {
  it('reads builds with their settings, a value holding = included, and numeric options', () => {
    const { builds, option } = compareArgs([
      'before=/tmp/before',
      'after=.,NODE_OPTIONS=--max-semi-space-size=32,DEDUPE_WINDOW_SIZE=0',
      '--rounds',
      '4',
    ]);
    expect(builds).toEqual([
      { name: 'before', root: '/tmp/before', env: {} },
      {
        name: 'after',
        root: path.resolve('.'),
        env: { NODE_OPTIONS: '--max-semi-space-size=32', DEDUPE_WINDOW_SIZE: '0' },
      },
    ]);
    expect(option('rounds', 6)).toBe(4);
    expect(option('seconds', 3)).toBe(3);
  });
});
