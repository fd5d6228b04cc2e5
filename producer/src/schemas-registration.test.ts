import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSubjects } from './schemas-registration';

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), JSON.stringify(content));
  }
  return dir;
}

const record = (namespace: string, name: string) => ({ type: 'record', namespace, name, fields: [] });

describe('the schema folder, as schemas:push reads it', () => {
  it('gives one subject per event type, named as the type, BACKWARD unless compatibility.json says otherwise', () => {
    const dir = folder({
      'a.b.c/1.avsc': record('a.b', 'c'),
      'a.b.c/2.avsc': record('a.b', 'c'),
      'x.y/1.json': { $id: 'urn:x', type: 'object' },
      'compatibility.json': { 'x.y': 'NONE' },
    });
    expect(
      readSubjects(dir).map(({ subject, format, compatibility, versions }) => [
        subject,
        format,
        compatibility,
        versions.length,
      ]),
    ).toEqual([
      ['a.b.c', 'avro', 'BACKWARD', 2],
      ['x.y', 'json', 'NONE', 1],
    ]);
  });

  it('refuses an Avro record whose full name is not the event type, saying what to write', () => {
    const dir = folder({ 'a.b.c/1.avsc': record('a.b', 'other') });
    expect(() => readSubjects(dir)).toThrow(
      /full name is a\.b\.other; it must be the event type a\.b\.c.*"namespace": "a\.b", "name": "c"/,
    );
  });

  it('refuses a compatibility level the registry does not know, and one for a type without schemas', () => {
    expect(() =>
      readSubjects(folder({ 'a.b.c/1.avsc': record('a.b', 'c'), 'compatibility.json': { 'a.b.c': 'SOMETIMES' } })),
    ).toThrow(/"SOMETIMES" is not one of BACKWARD/);
    expect(() =>
      readSubjects(folder({ 'a.b.c/1.avsc': record('a.b', 'c'), 'compatibility.json': { 'q.r': 'FULL' } })),
    ).toThrow(/q\.r has no schema folder/);
  });

  it('refuses a type that mixes Avro and JSON Schema versions', () => {
    const dir = folder({ 'a.b.c/1.avsc': record('a.b', 'c'), 'a.b.c/2.json': { $id: 'urn:a', type: 'object' } });
    expect(() => readSubjects(dir)).toThrow(/every version of a type has one format/);
  });
});
