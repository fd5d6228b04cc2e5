import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Every TypeScript source file of the services (not their tests). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [file] : [];
  });
}

describe("the project's error classes", () => {
  it('all have the one base that says whether trying again helps (PipelineError, common/src/errors.ts)', () => {
    const files = ['common', 'producer', 'consumer', 'observability'].flatMap((pkg) =>
      sources(path.join(ROOT, pkg, 'src')),
    );
    const classes = files.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^export (?:abstract )?class (\w+) extends (\w+)/gm)]
        .filter((match) => match[1]!.endsWith('Error') || match[2]!.endsWith('Error'))
        .map((match) => ({ file: path.relative(ROOT, file), name: match[1], base: match[2] })),
    );
    expect(classes.length).toBeGreaterThan(15);
    // Error itself only under the base; every other class under it or one of its subclasses.
    const ours = new Set(['PipelineError', ...classes.map((each) => each.name)]);
    expect(classes.filter((each) => each.base === 'Error')).toEqual([
      { file: 'common/src/errors.ts', name: 'PipelineError', base: 'Error' },
    ]);
    expect(classes.filter((each) => each.base !== 'Error' && !ours.has(each.base!))).toEqual([]);
  });
});
