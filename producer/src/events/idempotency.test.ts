import { idempotentEventId, isValidIdempotencyKey, uuidV5 } from './idempotency';

describe('idempotent event ids', () => {
  it('are RFC 9562 version 5 UUIDs (the RFC example: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('depend on the scope, the key and the index, and on nothing else', () => {
    const id = idempotentEventId('key:ab', 'k-1', 0);
    expect(idempotentEventId('key:ab', 'k-1', 0)).toBe(id);
    expect(idempotentEventId('key:cd', 'k-1', 0)).not.toBe(id);
    expect(idempotentEventId('key:ab', 'k-2', 0)).not.toBe(id);
    expect(idempotentEventId('key:ab', 'k-1', 1)).not.toBe(id);
  });

  it('take keys of 1 to 255 visible ASCII characters', () => {
    expect(isValidIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe(true);
    for (const bad of ['', 'a b', 'x'.repeat(256), 'é']) expect(isValidIdempotencyKey(bad)).toBe(false);
  });
});
