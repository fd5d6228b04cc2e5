import path from 'node:path';
import { runCommand } from '../../scripts/kafka/jars';
import { DEBIAN_VERSIONS, ensureDebianTools } from '../../scripts/tools/debian';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');

// The config files compose and the local stack share, checked by the tools that load them.
describe('observability config', () => {
  it('is a Prometheus config that promtool accepts', async () => {
    const { promtool } = await ensureDebianTools('promtool');
    const { stdout } = await runCommand(promtool, [
      'check',
      'config',
      path.join(root, 'observability/prometheus/prometheus.yml'),
    ]);
    expect(stdout).toContain('SUCCESS');
  });

  // Compose pins the same releases as images (test/unit/stack-parity.test.ts).
  it("runs Debian's Prometheus and Alertmanager releases, the ones compose pins", async () => {
    const { prometheus, 'prometheus-alertmanager': alertmanager } = await ensureDebianTools(
      'prometheus',
      'prometheus-alertmanager',
    );
    const version = async (program: string): Promise<string> => {
      const { stdout, stderr } = await runCommand(program, ['--version']);
      return /version (\d+\.\d+\.\d+)/.exec(`${stdout}${stderr}`)?.[1] ?? '';
    };
    expect(await version(prometheus)).toBe(DEBIAN_VERSIONS.prometheus);
    expect(await version(alertmanager)).toBe(DEBIAN_VERSIONS['prometheus-alertmanager']);
  });

  it('is an Alertmanager config that amtool accepts', async () => {
    const { amtool } = await ensureDebianTools('amtool');
    const { stdout } = await runCommand(amtool, [
      'check-config',
      path.join(root, 'observability/alertmanager/alertmanager.yml'),
    ]);
    expect(stdout).toContain('SUCCESS');
  });
});
