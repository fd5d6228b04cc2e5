import { readFileSync } from 'node:fs';
import { README, replaceTables, SERVICES, tableRows } from '../../scripts/docs/config-tables';

describe('README.md', () => {
  it.each(SERVICES)('documents every %s variable as its config schema says (npm run docs:config)', (service) => {
    const readme = readFileSync(README, 'utf8');
    expect(tableRows(readme, service)).toEqual(tableRows(replaceTables(readme), service));
  });
});
