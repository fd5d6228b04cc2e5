import path from 'node:path';
import { runCommand } from '../../scripts/kafka/jars';
import { ensureDebianTools } from '../../scripts/tools/debian';

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

  it('is an Alertmanager config that amtool accepts', async () => {
    const { amtool } = await ensureDebianTools('amtool');
    const { stdout } = await runCommand(amtool, [
      'check-config',
      path.join(root, 'observability/alertmanager/alertmanager.yml'),
    ]);
    expect(stdout).toContain('SUCCESS');
  });
});
