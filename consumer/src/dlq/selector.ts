import type { DeadLetter } from './dead-letter';

/** Which dead letters a command works on. Every criterion given must hold; within one, any value may. */
export interface Selector {
  /** CloudEvent ids. */
  ids: string[];
  /** CloudEvent types, exactly. */
  types: string[];
  /** Matched against `<error name>: <error message>`: a substring (any case), or a /regex/flags. */
  error: string | undefined;
  /** Dead-lettered at or after. */
  since: Date | undefined;
  /** Dead-lettered before. */
  until: Date | undefined;
  /** Positions in the dead-letter topic. */
  offsets: Array<{ partition: number; offset: string }>;
}

export const EMPTY_SELECTOR: Selector = {
  ids: [],
  types: [],
  error: undefined,
  since: undefined,
  until: undefined,
  offsets: [],
};

export function isEmptySelector(selector: Selector): boolean {
  return (
    selector.ids.length === 0 &&
    selector.types.length === 0 &&
    selector.error === undefined &&
    selector.since === undefined &&
    selector.until === undefined &&
    selector.offsets.length === 0
  );
}

/** `/pattern/flags` as a RegExp; undefined for a plain substring. Throws on a bad pattern. */
export function errorPattern(text: string): RegExp | undefined {
  const match = /^\/(.+)\/([a-z]*)$/s.exec(text);
  return match ? new RegExp(match[1]!, match[2]) : undefined;
}

export function createMatcher(selector: Selector): (deadLetter: DeadLetter) => boolean {
  const pattern = selector.error === undefined ? undefined : errorPattern(selector.error);
  const substring = selector.error?.toLowerCase();
  const offsets = new Set(selector.offsets.map(({ partition, offset }) => `${partition}:${offset}`));
  return (deadLetter) => {
    if (selector.ids.length > 0 && !selector.ids.includes(deadLetter.event?.id ?? '')) return false;
    if (selector.types.length > 0 && !selector.types.includes(deadLetter.event?.type ?? '')) return false;
    if (selector.error !== undefined) {
      const error = `${deadLetter.error.name}: ${deadLetter.error.message}`;
      if (pattern ? !pattern.test(error) : !error.toLowerCase().includes(substring!)) return false;
    }
    if (selector.since && deadLetter.failedAt < selector.since) return false;
    if (selector.until && deadLetter.failedAt >= selector.until) return false;
    if (offsets.size > 0 && !offsets.has(`${deadLetter.partition}:${deadLetter.offset}`)) return false;
    return true;
  };
}

/** The selector as the options that give it, for messages. */
export function describeSelector(selector: Selector): string {
  const parts = [
    ...selector.ids.map((id) => `--id ${id}`),
    ...selector.types.map((type) => `--type ${type}`),
    ...(selector.error === undefined ? [] : [`--error ${selector.error}`]),
    ...(selector.since ? [`--since ${selector.since.toISOString()}`] : []),
    ...(selector.until ? [`--until ${selector.until.toISOString()}`] : []),
    ...selector.offsets.map(({ partition, offset }) => `--offset ${partition}:${offset}`),
  ];
  return parts.length === 0 ? '--all' : parts.join(' ');
}

/**
 * The same text for the same selection whatever the order of the options: what names a
 * redrive's record of progress.
 */
export function canonicalSelector(selector: Selector): string {
  return JSON.stringify({
    ids: [...new Set(selector.ids)].sort(),
    types: [...new Set(selector.types)].sort(),
    error: selector.error ?? null,
    since: selector.since?.toISOString() ?? null,
    until: selector.until?.toISOString() ?? null,
    offsets: [...new Set(selector.offsets.map(({ partition, offset }) => `${partition}:${offset}`))].sort(),
  });
}
