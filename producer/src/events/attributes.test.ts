import fc from 'fast-check';
import { CloudEvent as SdkCloudEvent } from 'cloudevents';
import type { FieldError } from '../problem';
import { completeEvent } from './complete-event';
import { checkCloudEvent, validateEvents } from './validate';

// The CloudEvents SDK's validation (the spec's JSON Schema, its attribute-name and value rules)
// no longer runs after our checks: attributes.ts covers what it checks. These properties are
// what makes that safe: whatever our checks accept, the SDK accepts too.
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });
const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.ceil(maxLength / 4) }),
    fc.string({ maxLength: maxLength + 4 }),
  );
const uriReference = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webPath(),
  fc.constantFrom('urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', 'mailto:a@example.com', '1-555-123-4567', '//host'),
  fc.string({ maxLength: 30 }),
);
const uri = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom('urn:event-pipeline:schema:a:1', 'http://300.1.1.1/', '/relative', 'a:b'),
  fc.string({ maxLength: 30 }),
);
const time = fc.oneof(
  fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map((date) => date.toISOString()),
  fc
    .tuple(fc.date({ noInvalidDate: true }), fc.integer({ min: -23, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([date, hours, minutes]) => {
      const sign = hours < 0 ? '-' : '+';
      const offset = `${sign}${String(Math.abs(hours)).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
      return date.toISOString().replace(/\.\d{3}Z$/, offset);
    }),
  fc.constantFrom('2016-12-31T23:59:60Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05z'),
  fc.string({ maxLength: 30 }),
);
const extensions = fc.dictionary(
  fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9]{1,64}$/) },
    fc.constantFrom('schemaurl', 'datacontentencoding', 'Tenant', 'my-ext'),
    fc.string({ maxLength: 10 }),
  ),
  fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constant(null),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  { maxKeys: 4 },
);
const data = fc.oneof(
  fc.record({ data: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ data_base64: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 8 })) }),
  fc.constant({}),
);

function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

const structuredEvent = fc
  .tuple(
    fc.record({
      specversion: fc.oneof({ weight: 9, arbitrary: fc.constant('1.0') }, fc.constant('0.3')),
      id: text(256),
      source: uriReference,
      type: text(256),
      subject: maybe(text(1024)),
      time: maybe(time),
      datacontenttype: maybe(fc.constantFrom('application/json', 'text/plain', '')),
      dataschema: maybe(uri),
    }),
    extensions,
    data,
  )
  .map(([attributes, extra, payload]): Record<string, unknown> => ({ ...extra, ...defined(attributes), ...payload }));

function sdkAccepts(event: Record<string, unknown>): void {
  // Throws (ValidationError or TypeError) on anything the SDK refuses.
  new SdkCloudEvent(event, true);
}

describe('what the declared attribute rules accept', () => {
  it('when a structured event passes our checks, then the CloudEvents SDK accepts it too', () => {
    fc.assert(
      fc.property(structuredEvent, (event) => {
        const errors: FieldError[] = [];
        fc.pre(checkCloudEvent(event, { pointer: '' }, errors) !== undefined);
        sdkAccepts(event);
      }),
      { numRuns: 200 },
    );
  });

  it('when a binary-mode event (every attribute a string) passes our checks, then the SDK accepts it', () => {
    fc.assert(
      fc.property(structuredEvent, (event) => {
        const { data: _data, data_base64: _encoded, ...rest } = event;
        const headers = Object.fromEntries(Object.entries(rest).map(([name, value]) => [name, String(value)]));
        fc.pre(checkCloudEvent(headers, {}, []) !== undefined);
        sdkAccepts(headers);
      }),
      { numRuns: 200 },
    );
  });

  it('when a plain event passes our checks, then the CloudEvent it becomes is one the SDK accepts', () => {
    const plainEvent = fc
      .record({
        type: text(256),
        id: maybe(text(256)),
        subject: maybe(text(1024)),
        source: maybe(uriReference),
        time: maybe(time),
        data: maybe(fc.jsonValue({ maxDepth: 2 })),
      })
      .map(defined);
    fc.assert(
      fc.property(plainEvent, (event) => {
        let candidate;
        try {
          [candidate] = validateEvents(event, 1);
        } catch {
          fc.pre(false);
        }
        const { extensions: _none, ...completed } = completeEvent(candidate!, 0, {
          source: 'urn:event-pipeline:producer',
          time: new Date().toISOString(),
        });
        sdkAccepts(completed as unknown as Record<string, unknown>);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what the SDK cannot read back: the 0.3 attribute schemaurl as an extension', () => {
    const event = { specversion: '1.0', id: 'e', source: '/s', type: 't', schemaurl: 'https://example.com/s' };
    const errors: FieldError[] = [];
    expect(checkCloudEvent(event, { pointer: '' }, errors)).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ pointer: '/schemaurl', attribute: 'schemaurl' })]);
    expect(() => sdkAccepts(event)).toThrow(/schemaurl/);
  });
});
