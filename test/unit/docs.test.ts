import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIGURATION_DOC, replaceTables, SERVICES, tableRows } from '../../scripts/docs/config-tables';
import { brokenLinks, githubSlug, headingAnchors, relativeLinks } from '../../scripts/docs/markdown-links';

const ROOT = path.resolve(__dirname, '../..');

describe('docs/configuration.md', () => {
  it.each(SERVICES)('documents every %s variable as its config schema says (npm run docs:config)', (service) => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(tableRows(doc, service)).toEqual(tableRows(replaceTables(doc), service));
  });
});

describe('the links between the docs', () => {
  const files = [
    'README.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
    'dashboards/README.md',
    'observability/README.md',
    'bench/findings.md',
  ];

  it.each(files)('every relative link and anchor in %s leads somewhere', (file) => {
    expect(brokenLinks(path.join(ROOT, file))).toEqual([]);
  });

  it('the README links to every file of docs/', () => {
    const linked = new Set(
      relativeLinks(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).map((t) => t.split('#')[0]),
    );
    const unlinked = files.filter((file) => file.startsWith('docs/') && !linked.has(file));
    expect(unlinked).toEqual([]);
  });

  it('makes anchors as GitHub does: lower case, punctuation gone, spaces as hyphens, repeats numbered', () => {
    expect(githubSlug('Retries and `Idempotency-Key`')).toBe('retries-and-idempotency-key');
    expect(githubSlug('A secured Kafka (SASL, TLS)')).toBe('a-secured-kafka-sasl-tls');
    expect(githubSlug('`POST /events`')).toBe('post-events');
    expect(githubSlug('Compose: settings, start-up, health')).toBe('compose-settings-start-up-health');
    expect([...headingAnchors('# Usage\n## Usage\n```\n# not a heading\n```\n### Usage')]).toEqual([
      'usage',
      'usage-1',
      'usage-2',
    ]);
  });

  it('reads links outside code only, and leaves absolute addresses alone', () => {
    const markdown = [
      'See [the API](docs/api.md#errors), ![a chart](bench/x.svg) and [Kafka](https://kafka.apache.org).',
      '`[not](a-link.md)`',
      '```md\n[nor](this.md)\n```',
      '[ref]: docs/guarantees.md',
    ].join('\n');
    expect(relativeLinks(markdown)).toEqual(['docs/api.md#errors', 'bench/x.svg', 'docs/guarantees.md']);
  });
});
