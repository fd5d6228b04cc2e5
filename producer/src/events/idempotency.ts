import { createHash } from 'node:crypto';

/** Namespace of the UUIDs this API derives from idempotency keys (a fixed random UUID). */
export const IDEMPOTENCY_NAMESPACE = '5b0f3c4e-8f5d-4c52-9a3e-2f7d1c6b9a10';

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replaceAll('-', ''), 'hex');
const IDEMPOTENCY_NAMESPACE_BYTES = uuidBytes(IDEMPOTENCY_NAMESPACE);

/** A name-based UUID (RFC 9562 version 5: SHA-1 of the namespace and the name). */
export function uuidV5(name: string, namespace: string | Buffer): string {
  const hash = createHash('sha1')
    .update(typeof namespace === 'string' ? uuidBytes(namespace) : namespace)
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Visible ASCII, as a structured-field string of the Idempotency-Key draft allows; bounded. */
const KEY = /^[\x21-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * The id of the `index`th event of a request sent with `key`: the same on every retry, without
 * any state on the server. `scope` keeps clients apart (the API key's identity, when keys are
 * configured), so two clients that pick the same key do not get each other's ids.
 */
export function idempotentEventId(scope: string, key: string, index: number): string {
  return uuidV5(`${scope}\n${key}\n${index}`, IDEMPOTENCY_NAMESPACE_BYTES);
}
