import { createHash, timingSafeEqual } from 'node:crypto';

/** The caller an API key identifies: a short hash of the key, safe to use as a scope or bucket name. */
export interface Caller {
  id: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks `Authorization: Bearer <key>` against the configured keys. Keys are compared as SHA-256
 * digests with `timingSafeEqual`, against every configured key without stopping at a match, so
 * the time taken says nothing about a key. Keys are never logged or echoed.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The caller the header names, or an explanation of why it names none. */
  authenticate(authorization: string): Caller | { refused: string } {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization);
    if (!match) {
      return {
        refused:
          authorization === ''
            ? 'an API key is required: Authorization: Bearer <key>'
            : 'the Authorization header is not Bearer <key>',
      };
    }
    const offered = digest(match[1]!);
    let found: Buffer | undefined;
    for (const known of this.digests) {
      if (timingSafeEqual(known, offered) && found === undefined) found = known;
    }
    return found ? { id: found.subarray(0, 8).toString('hex') } : { refused: 'the API key is not valid' };
  }
}
