// Loads the wire captures in test/fixtures/wire (real dig, kdig, nsupdate, knsupdate, named and knotd traffic).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WireFixture {
  file: string;
  scenario: string;
  description: string;
  tools: { client: string; server: string };
  key?: { name: string; algorithm: string; secret: string };
  messages: { from: 'client' | 'server'; transport: 'udp' | 'tcp'; bytes: Buffer }[];
}

const dir = fileURLToPath(new URL('../fixtures/wire/', import.meta.url));

export function wireFixtures(): WireFixture[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const raw = JSON.parse(readFileSync(dir + file, 'utf8')) as Omit<WireFixture, 'file' | 'messages'> & { messages: { from: 'client' | 'server'; transport: 'udp' | 'tcp'; hex: string }[] };
    return { ...raw, file, messages: raw.messages.map((m) => ({ from: m.from, transport: m.transport, bytes: Buffer.from(m.hex, 'hex') })) };
  });
}

export function wireFixture(scenario: string): WireFixture {
  const f = wireFixtures().find((x) => x.scenario === scenario);
  if (!f) throw new Error(`no wire fixture ${scenario}`);
  return f;
}
