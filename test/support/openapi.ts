import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface OpenApiValidation {
  valid: boolean;
  /** The OpenAPI version the validator recognised, e.g. "3.1". */
  version: string;
  errors?: unknown;
}

/**
 * Validates a document with @seriousme/openapi-schema-validator (the official OpenAPI 3.x JSON
 * Schemas). The package is ESM only, so it runs in a child Node process rather than in jest's
 * CommonJS module system.
 */
export function validateOpenApi(document: unknown): OpenApiValidation {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text));
    process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors }));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    input: JSON.stringify(document),
    cwd: path.resolve(__dirname, '../..'),
  });
  return JSON.parse(output.toString()) as OpenApiValidation;
}
