import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GO_TOOLS, prometheusRelease } from '../../scripts/tools/go-tools';

const provisioning = path.resolve(__dirname, '../../observability/grafana/provisioning');
const load = (file: string) => parse(readFileSync(path.join(provisioning, file), 'utf8')) as Record<string, unknown>;

interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: {
    prometheusVersion?: string;
    exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[];
  };
}

describe('Grafana provisioning', () => {
  const { datasources } = load('datasources/datasources.yml') as { datasources: Datasource[] };
  const byUid = Object.fromEntries(datasources.map((datasource) => [datasource.uid, datasource]));

  it('provisions Prometheus as uid "prometheus", the default, on the compose network', () => {
    expect(byUid.prometheus).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
  });

  it('tells Grafana the Prometheus release compose and the stack run, so it offers what that release can do', () => {
    expect(byUid.prometheus?.jsonData?.prometheusVersion).toBe(prometheusRelease(GO_TOOLS.prometheus.version));
  });

  it("links an exemplar's trace_id to the Jaeger datasource", () => {
    expect(byUid.prometheus?.jsonData?.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: 'jaeger' },
    ]);
    expect(byUid.jaeger).toMatchObject({ type: 'jaeger', url: 'http://jaeger:16686' });
  });

  it("shows Alertmanager's alerts", () => {
    expect(byUid.alertmanager).toMatchObject({ type: 'alertmanager', url: 'http://alertmanager:9093' });
  });

  it('has one dashboard provider per folder, reading the mounted generated dashboards', () => {
    const { providers } = load('dashboards/dashboards.yml') as {
      providers: { folder: string; type: string; options: { path: string } }[];
    };
    expect(providers.length).toBeGreaterThan(0);
    expect(new Set(providers.map((provider) => provider.folder)).size).toBe(providers.length);
    expect(providers.map((provider) => provider.options.path)).toContain('/var/lib/grafana/dashboards');
    expect(providers.every((provider) => provider.type === 'file')).toBe(true);
  });

  it('bakes in no admin password', () => {
    const files = ['datasources/datasources.yml', 'dashboards/dashboards.yml'].map((file) =>
      readFileSync(path.join(provisioning, file), 'utf8'),
    );
    for (const text of files) expect(text).not.toMatch(/password/i);
  });
});
