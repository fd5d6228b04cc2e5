import { z } from 'zod';
import { ConfigError, describeConfig, env, parseConfig } from './config';

const schema = z.object({
  PORT: env.port('port', 8080),
  BROKERS: env.list('brokers', ['localhost:9092']),
  ENABLED: env.bool('flag', false),
  COUNT: env.int('count', 3, { min: 1, max: 10 }),
  NAME: env.string('name'),
});

describe('parseConfig', () => {
  it('applies defaults and converts values', () => {
    expect(parseConfig(schema, { NAME: 'x', BROKERS: 'a:1, b:2,', ENABLED: 'true', COUNT: '7' })).toEqual({
      PORT: 8080,
      BROKERS: ['a:1', 'b:2'],
      ENABLED: true,
      COUNT: 7,
      NAME: 'x',
    });
  });

  it('treats an empty value as unset', () => {
    expect(parseConfig(schema, { NAME: 'x', PORT: '' }).PORT).toBe(8080);
  });

  it('fails with one line naming the variable', () => {
    expect(() => parseConfig(schema, { NAME: 'x', PORT: 'eighty' })).toThrow(
      new ConfigError('PORT', 'must be a port number'),
    );
    expect(() => parseConfig(schema, { NAME: 'x', COUNT: '11' })).toThrow(/^invalid configuration: COUNT: /);
    expect(() => parseConfig(schema, {})).toThrow(/^invalid configuration: NAME: /);
    expect(() => parseConfig(schema, { NAME: 'x', ENABLED: 'maybe' })).toThrow(/ENABLED: must be true or false/);
  });

  it('describes every variable with its default', () => {
    expect(describeConfig(schema)).toContainEqual({ variable: 'PORT', description: 'port', default: 8080 });
    expect(describeConfig(schema)).toContainEqual({ variable: 'NAME', description: 'name' });
  });
});
