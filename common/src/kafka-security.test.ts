import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { checkKafkaConfig, kafkaConfigSchema, parseConfig } from './config';
import { kafkaSecurityOptions } from './kafka';
import { isRetriable } from './retriable';

const schema = z.object(kafkaConfigSchema).superRefine(checkKafkaConfig);
const dir = mkdtempSync(path.join(tmpdir(), 'kafka-security-'));
const file = (name: string, text: string): string => {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
};
const ca = file('ca.pem', 'CA');
const cert = file('client.pem', 'CERT');
const key = file('client.key', 'KEY');
const scram = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 's3cret!' };

describe('the Kafka security settings', () => {
  it('default to neither SASL nor TLS', () => {
    const config = parseConfig(schema, {});
    expect(kafkaSecurityOptions(config)).toEqual({});
  });

  it('give KafkaJS the SASL mechanism and credentials, whatever the case of the mechanism', () => {
    const config = parseConfig(schema, { ...scram, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' });
    expect(kafkaSecurityOptions(config)).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 's3cret!' },
    });
  });

  it('give KafkaJS TLS with the CA, client certificate and key read from their files', () => {
    const config = parseConfig(schema, {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SSL_CERT_FILE: cert,
      KAFKA_SSL_KEY_FILE: key,
    });
    expect(kafkaSecurityOptions(config)).toEqual({
      ssl: { rejectUnauthorized: true, ca: [Buffer.from('CA')], cert: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    expect(
      kafkaSecurityOptions(parseConfig(schema, { KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })),
    ).toEqual({ ssl: { rejectUnauthorized: false } });
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512'],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'x' },
      'KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM',
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'x' },
      'KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM',
    ],
    [
      { KAFKA_SASL_USERNAME: 'x', KAFKA_SASL_PASSWORD: 'y' },
      'KAFKA_SASL_MECHANISM: is required with KAFKA_SASL_USERNAME',
    ],
    [{ KAFKA_SSL_CA_FILE: ca }, 'KAFKA_SSL: must be true when KAFKA_SSL_CA_FILE is set'],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert }, 'KAFKA_SSL_KEY_FILE: is required with KAFKA_SSL_CERT_FILE'],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: key }, 'KAFKA_SSL_CERT_FILE: is required with KAFKA_SSL_KEY_FILE'],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: path.join(dir, 'missing.pem') }, 'KAFKA_SSL_CA_FILE: cannot read '],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: dir }, `KAFKA_SSL_CA_FILE: ${dir} is not a file`],
  ])('refuse %j with one line naming the variable', (env, message) => {
    expect(() => parseConfig(schema, env)).toThrow(`invalid configuration: ${message}`);
  });

  it('never put the password in an error', () => {
    expect(() => parseConfig(schema, { ...scram, KAFKA_SASL_USERNAME: undefined })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret!') }),
    );
  });
});

describe('a failed SASL authentication', () => {
  it('is permanent, also when KafkaJS wraps it (waiting will not fix the credentials)', () => {
    const refused = Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), {
      name: 'KafkaJSSASLAuthenticationError',
      retriable: false,
    });
    expect(isRetriable(refused)).toBe(false);
    expect(isRetriable(Object.assign(new Error('wrapped'), { retriable: false, cause: refused }))).toBe(false);
    expect(isRetriable(Object.assign(new Error('Connection error'), { retriable: true }))).toBe(true);
  });
});
