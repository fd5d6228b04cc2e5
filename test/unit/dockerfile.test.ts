import { readFileSync } from 'node:fs';
import path from 'node:path';

// The images run as an unprivileged user: the final stage (the one that ships) sets a USER
// other than root before its CMD.
describe('Dockerfile', () => {
  const lines = readFileSync(path.resolve(__dirname, '../../Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const lastFrom = lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true);
  const finalStage = lines.slice(lastFrom);

  it('runs the final stage as a non-root user', () => {
    expect(lastFrom).toBeGreaterThanOrEqual(0);
    const users = finalStage.filter((line) => /^USER\s/i.test(line)).map((line) => line.split(/\s+/)[1]!);
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.split(':')[0]!;
    expect(['root', '0']).not.toContain(user);
  });

  it('sets that user before the command runs', () => {
    const userAt = finalStage.findLastIndex((line) => /^USER\s/i.test(line));
    const cmdAt = finalStage.findLastIndex((line) => /^(CMD|ENTRYPOINT)\s/i.test(line));
    expect(cmdAt).toBeGreaterThan(userAt);
  });
});
