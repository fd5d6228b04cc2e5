import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, isRetriable } from '@event-pipeline/common';
import { loadHandlerModule, NonRetriableError } from './handler';

const logger = createLogger({ service: 'test', level: 'silent' });

function moduleFile(name: string, source: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'handler-'));
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

describe('loadHandlerModule', () => {
  it.each([
    ['a createHandler export', 'exports.createHandler = () => ({ handle() {} });'],
    ['a factory as the module itself', 'module.exports = () => ({ handle() {} });'],
    ['a handler export', 'exports.handler = { handle() {} };'],
    ['a handler as the module itself', 'module.exports = { handle() {} };'],
  ])('loads %s', async (_name, source) => {
    const handler = await loadHandlerModule(moduleFile('handler.js', source), logger);
    expect(typeof handler.handle).toBe('function');
  });

  it('says what is wrong with a module that exports no handler', async () => {
    await expect(loadHandlerModule(moduleFile('nothing.js', 'exports.other = 1;'), logger)).rejects.toThrow(
      /exports neither createHandler\(\) nor a handler/,
    );
    await expect(loadHandlerModule('/nowhere/handler.js', logger)).rejects.toThrow(/could not be loaded/);
  });
});

describe('isRetriable', () => {
  it('retries unless the error says retriable: false', () => {
    expect(isRetriable(new Error('x'))).toBe(true);
    expect(isRetriable('text')).toBe(true);
    expect(isRetriable(new NonRetriableError('x'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('x'), { retriable: false }))).toBe(false);
  });
});
