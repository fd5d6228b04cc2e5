import { parseCommand, UsageError } from './args';

const NOW = new Date('2026-12-03T12:00:00Z');
const parse = (...argv: string[]) => parseCommand(argv, NOW);

describe('the dlq command line', () => {
  it('reads a redrive: selector, --yes, --rate, --limit, --to', () => {
    expect(
      parse(
        'redrive',
        '--type',
        'a',
        '--type',
        'b',
        '--error',
        '/time.?out/i',
        '--yes',
        '--rate',
        '2.5',
        '--limit',
        '10',
      ),
    ).toEqual({
      name: 'redrive',
      json: false,
      to: undefined,
      send: true,
      rate: 2.5,
      limit: 10,
      selector: {
        ids: [],
        types: ['a', 'b'],
        error: '/time.?out/i',
        since: undefined,
        until: undefined,
        offsets: [],
      },
    });
  });

  it('is a dry run unless --yes', () => {
    expect(parse('redrive', '--id', 'x')).toMatchObject({ send: false });
    expect(parse('redrive', '--id', 'x', '--dry-run')).toMatchObject({ send: false });
  });

  it('takes durations ago for list and show, and absolute times only for redrive', () => {
    expect(parse('list', '--since', '2h')).toMatchObject({ selector: { since: new Date('2026-12-03T10:00:00Z') } });
    expect(parse('redrive', '--since', '2026-12-01T00:00:00Z')).toMatchObject({
      selector: { since: new Date('2026-12-01T00:00:00Z') },
    });
    expect(() => parse('redrive', '--since', '2h')).toThrow(/redrive takes an absolute time/);
  });

  it('reads --offset as partition:offset', () => {
    expect(parse('show', '--offset', '3:42')).toMatchObject({
      selector: { offsets: [{ partition: 3, offset: '42' }] },
    });
  });

  it.each([
    [[], /a command is required/],
    [['purge'], /unknown command "purge"/],
    [['list', '--bogus'], /^unknown option --bogus/],
    [['list', 'extra'], /unexpected argument "extra"/],
    [['redrive'], /redrive needs a selector/],
    [['redrive', '--all', '--type', 'a'], /--all selects everything/],
    [['redrive', '--all', '--yes', '--dry-run'], /contradict/],
    [['redrive', '--all', '--rate', '0'], /--rate 0: must be a number/],
    [['redrive', '--all', '--rate', 'fast'], /--rate fast/],
    [['redrive', '--all', '--limit', '-1'], /--limit/],
    [['redrive', '--all', '--to', 'bad topic'], /not a Kafka topic name/],
    [['show', '--offset', 'seven'], /partition:offset/],
    [['show', '--error', '/(/'], /--error/],
    [['show', '--since', 'yesterday'], /not a time/],
    [['show', '--since', '2026-12-03', '--until', '2026-12-02'], /--since must be before --until/],
    [['list', '--yes'], /--yes is an option of redrive, not of list/],
    [['list', '--limit', '3'], /--limit is an option of show and redrive/],
  ])('refuses %j with one line', (argv, message) => {
    let error: unknown;
    try {
      parseCommand(argv, NOW);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('answers --help and help', () => {
    expect(parse('--help')).toEqual({ name: 'help' });
    expect(parse('help')).toEqual({ name: 'help' });
  });
});
