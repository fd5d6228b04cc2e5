/**
 * Settles as `work` does, unless `ms` pass first: then rejects with `onTimeout()` (and runs it
 * once, e.g. to abort the work or give up its place in a queue). The work itself goes on.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
