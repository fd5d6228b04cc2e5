import { printable, printableOutput } from './printable';
import { renderSummary } from './summary';

describe('what dlq prints of a dead letter', () => {
  it('escapes ESC, CR, C1 controls, bidirectional overrides and unpaired surrogates', () => {
    expect(printable('a\u001b[2Jb\rc\u009bd\u202ee\ud800f\ng')).toBe(
      'a\\u001b[2Jb\\u000dc\\u009bd\\u202ee\\ud800f\\u000ag',
    );
    expect(printable('plain ütf-8 😀')).toBe('plain ütf-8 😀');
  });

  it('keeps the line breaks of the output itself, and JSON output stays JSON that reads back the same', () => {
    expect(printableOutput('one\ntwo\u001b]0;owned\u0007')).toBe('one\ntwo\\u001b]0;owned\\u0007');
    const json = JSON.stringify({ type: 'x\u0085\u009b\u202e' }, null, 2);
    const escaped = printableOutput(json);
    expect(escaped).not.toMatch(/[\u0080-\u009f\u202e]/);
    expect(JSON.parse(escaped)).toEqual({ type: 'x\u0085\u009b\u202e' });
  });

  it('prints a crafted type and error message escaped in the list table', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const text = renderSummary(
      {
        topic: 'events.dlq',
        total: 1,
        oldest: at,
        newest: at,
        byType: [{ type: 'evil\u001b[31m', count: 1, oldest: at, newest: at }],
        byError: [{ name: 'Error', message: 'line\rover', count: 1, oldest: at, newest: at }],
        byOriginalPartition: [{ topic: 'events', partition: 0, count: 1, oldest: at, newest: at }],
      },
      'all',
    );
    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\r');
    expect(text).toContain('evil\\u001b[31m');
    expect(text).toContain('line\\u000dover');
  });
});
