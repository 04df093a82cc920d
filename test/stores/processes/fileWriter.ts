// One process of the two-process FileStore test: loads the shared run, waits for "go" on stdin, then tries to
// advance it `rounds` times, reporting each save as `ok <seq>` or `conflict <seq>` on stdout.
import { createInterface } from 'node:readline';
import { FileStore } from '../../../src/index.js';

const [dir, name, rounds] = process.argv.slice(2) as [string, string, string];
const store = new FileStore(dir);
const loaded = await store.load('shared-run');
if (loaded === undefined) throw new Error('nothing to load');
process.stdout.write(`loaded ${loaded.seq}\n`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
for (let i = 1; i <= Number(rounds); i++) {
  const seq = loaded.seq + i;
  try {
    await store.save({ ...loaded, seq, state: { writer: name, round: i } });
    process.stdout.write(`ok ${seq}\n`);
  } catch (error) {
    process.stdout.write(`${(error as { code?: string }).code ?? 'error'} ${seq}\n`);
  }
}
lines.close();
