import path from 'node:path';
import { DataSchemas } from './events/data-schemas';
import { validateOpenApi } from '../../test/support/openapi';
import { buildOpenApiDocument } from './openapi';

const schemas = DataSchemas.load(path.resolve(__dirname, '../../schemas'));

describe('the OpenAPI document', () => {
  const options = { schemas, maxEventsPerRequest: 100, bodyLimitBytes: 1000, version: '0.1.0' };

  it.each([false, true])('is valid OpenAPI 3.1 (API keys %s)', (apiKeysEnabled) => {
    const result = validateOpenApi(buildOpenApiDocument({ ...options, apiKeysEnabled }));
    expect(result.errors ?? []).toEqual([]);
    expect(result).toMatchObject({ valid: true, version: '3.1' });
  });

  it('describes POST /events with each mode, and each event type from the schema folder', () => {
    const document = buildOpenApiDocument({ ...options, apiKeysEnabled: true }) as {
      paths: Record<string, { post?: { requestBody: { content: Record<string, unknown> }; security?: unknown } }>;
      components: { schemas: Record<string, unknown> };
    };
    const post = document.paths['/events']!.post!;
    expect(Object.keys(post.requestBody.content)).toEqual([
      'application/json',
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      '*/*',
    ]);
    expect(post.security).toEqual([{ apiKey: [] }]);
    for (const schema of schemas.compiled()) {
      expect(document.components.schemas[`${schema.type}.v${schema.version}`]).toEqual(schema.jsonSchema);
    }
  });

  it('is not valid when broken, so the check above means something', () => {
    expect(validateOpenApi({ openapi: '3.1.0', info: { title: 'x' }, paths: {} }).valid).toBe(false);
  });
});
