import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DOCKERFILE = path.resolve(__dirname, '..', '..', 'Dockerfile');

/** The Dockerfile's instructions, continuation lines joined, comments and blank lines left out. */
export function dockerfileInstructions(file = DOCKERFILE): string[] {
  return readFileSync(file, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export interface Stage {
  /** Its name (`FROM ... AS name`), or its index when it has none. */
  name: string;
  /** What it starts from: an image or an earlier stage's name. */
  from: string;
  /** Its instructions, the FROM line first. */
  lines: string[];
}

/** The Dockerfile's build stages in order; the instructions before the first FROM (global ARGs) are not in any. */
export function dockerfileStages(file = DOCKERFILE): Stage[] {
  const stages: Stage[] = [];
  for (const line of dockerfileInstructions(file)) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, lines: [line] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

/** The stage `docker build --target <name>` ships. */
export function dockerfileStage(name: string, file = DOCKERFILE): Stage {
  const stage = dockerfileStages(file).find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`${file} has no stage named ${name}`);
  return stage;
}
