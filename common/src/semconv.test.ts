import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import * as semconv from './semconv';

describe('the incubating semantic conventions copied into semconv.ts', () => {
  // The names are the spans' contract (docs/tracing.md): a copy must be the package's, letter for letter.
  it.each(Object.entries(semconv))('%s as the package has it', (name, value) => {
    expect(incubating[name as keyof typeof incubating]).toBe(value);
  });
});
