// The Helm chart (deploy/helm/event-pipeline) rendered by the real `helm`, built once into
// .cache/tools, and read back as data, for the tests that check it against the API types, the
// rules and the services.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCommand } from '../../scripts/kafka/jars';
import { ensureGoTool } from '../../scripts/tools/go-tools';
import { REPO_ROOT } from './compose';

export const CHART_DIR = path.join(REPO_ROOT, 'deploy', 'helm', 'event-pipeline');
const CI_DIR = path.join(CHART_DIR, 'ci');

/** The value sets every check runs on: the defaults, and each file of the chart's ci/ folder. */
export const VALUE_SETS: ReadonlyArray<{ name: string; files: string[] }> = [
  { name: 'default', files: [] },
  ...readdirSync(CI_DIR)
    .filter((file) => file.endsWith('-values.yaml'))
    .sort()
    .map((file) => ({ name: file.replace(/-values\.yaml$/, ''), files: [path.join(CI_DIR, file)] })),
];

export const RELEASE = 'ep';
export const NAMESPACE = 'events';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** A command's failure with what it printed, for the tests that expect one. */
export interface Failure {
  code: number | undefined;
  output: string;
}

/** Helm 4, the one the checks run with, or Helm 3, which they hold to the same results. */
export type HelmTool = 'helm' | 'helm3';

export async function helmWith(tool: HelmTool, ...args: string[]): Promise<string> {
  const { stdout } = await runCommand(await ensureGoTool(tool), args);
  return stdout;
}

export function helm(...args: string[]): Promise<string> {
  return helmWith('helm', ...args);
}

/** The output of a command that should fail, or an error if it passed. */
export async function failureOf(run: Promise<unknown>): Promise<Failure> {
  try {
    await run;
  } catch (error) {
    const { code, stdout, stderr, message } = error as {
      code?: number;
      stdout?: string;
      stderr?: string;
      message: string;
    };
    return { code, output: `${stdout ?? ''}${stderr ?? ''}${message}` };
  }
  throw new Error('the command passed; it was expected to fail');
}

function valueArgs(files: string[], set: string[]): string[] {
  return [...files.flatMap((file) => ['--values', file]), ...set.flatMap((value) => ['--set', value])];
}

/** `helm template` of the chart with these values files and --set values: the YAML it prints. */
export function template(files: string[] = [], set: string[] = [], tool: HelmTool = 'helm'): Promise<string> {
  return helmWith(tool, 'template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...valueArgs(files, set));
}

export function lint(files: string[] = [], set: string[] = [], tool: HelmTool = 'helm'): Promise<string> {
  return helmWith(tool, 'lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, ...valueArgs(files, set));
}

/** The rendered objects, parsed. */
export function objectsOf(rendered: string): KubeObject[] {
  return parseAllDocuments(rendered)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) {
    const have = objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} rendered; there are: ${have}`);
  }
  return found;
}
