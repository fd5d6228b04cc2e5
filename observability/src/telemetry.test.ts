import path from 'node:path';
import { identifyService, isOperationalRequest } from './telemetry';

const root = path.resolve(__dirname, '../..');

describe('the telemetry bootstrap', () => {
  it("names each service after its package, as the contract's service.name", () => {
    expect(identifyService(path.join(root, 'producer/dist/main.js'))).toEqual({ name: 'producer', version: '0.1.0' });
    expect(identifyService(path.join(root, 'consumer/dist/main.js'))).toEqual({ name: 'consumer', version: '0.1.0' });
  });

  it('names nothing when the program has no package', () => {
    expect(identifyService(undefined)).toBeUndefined();
    expect(identifyService('/main.js')).toBeUndefined();
  });

  it('leaves probes and scrapes out of the traces, and nothing else', () => {
    for (const url of ['/metrics', '/health', '/health/ready', '/health/live?verbose=1']) {
      expect(isOperationalRequest(url)).toBe(true);
    }
    for (const url of ['/events', '/healthy', '/schemas', undefined]) expect(isOperationalRequest(url)).toBe(false);
  });
});
