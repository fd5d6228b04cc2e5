// A program kept in the git-ignored .cache/tools/: made once in a scratch folder there and moved
// into place, so that two makers at once cannot leave half a binary; found there after that.
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { relative } from '../kafka/jars';

export const TOOLS_DIR = path.resolve(__dirname, '..', '..', '.cache', 'tools');

export function log(message: string): void {
  process.stderr.write(`tools: ${message}\n`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

const making = new Map<string, Promise<string>>();

/**
 * `binary` (a path under TOOLS_DIR), made first by `make` when it is missing: `make` gets an
 * empty scratch folder and answers where in it the program is, or where the programs are, the
 * one `binary` names first: the others (promtool beside prometheus) go beside it, under their own names.
 */
export function cachedBinary(binary: string, make: (work: string) => Promise<string | string[]>): Promise<string> {
  let pending = making.get(binary);
  if (!pending) {
    pending = ensure(binary, make).finally(() => making.delete(binary));
    making.set(binary, pending);
  }
  return pending;
}

async function ensure(binary: string, make: (work: string) => Promise<string | string[]>): Promise<string> {
  if (await exists(binary)) return binary;
  const started = Date.now();
  await mkdir(TOOLS_DIR, { recursive: true });
  const work = await mkdtemp(path.join(TOOLS_DIR, `.${path.basename(binary)}-`));
  try {
    const [made, ...companions] = [await make(work)].flat();
    await mkdir(path.dirname(binary), { recursive: true });
    // The companions first: where `binary` is, they are too.
    for (const companion of companions) {
      await rename(companion, path.join(path.dirname(binary), path.basename(companion)));
    }
    await rename(made!, binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  log(`made ${relative(binary)} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}
