import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../src/cli/progress.js';

/** A pipe, as a CI log or `npm run train > log` is: not a terminal. */
function pipe() {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  let text = '';
  stream.on('data', (b) => (text += b));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress on a pipe', () => {
  it('When a step runs long without reporting, Then a line with the elapsed time still comes every few seconds, and none after stop', async () => {
    const out = pipe();
    const progress = createProgress('train', { stream: out.stream, lineEverySeconds: 0.05 });
    progress.update(0.11, 'tune');
    // Lines every 50 ms: waited for rather than counted after a fixed sleep, which a loaded machine
    // (a CI run beside other work) stretched past the test's window.
    const deadline = Date.now() + 10_000;
    while (out.text().trim().split('\n').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = out.text().trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^train: 11% tune \(\d+\.\d s\)$/);
    progress.stop();
    const stopped = out.text();
    expect(stopped.trim().split('\n').at(-1)).toMatch(/^train: done in \d+\.\d s$/);
    await new Promise((r) => setTimeout(r, 120));
    expect(out.text()).toBe(stopped);
  });

  // A job handed to a server and no longer followed (Ctrl-C) goes on there: its last line said "failed".
  it('When a followed job is left running elsewhere, Then the closing line says it goes on, not that it failed', async () => {
    const out = pipe();
    createProgress('import', { stream: out.stream }).stop('left');
    expect(out.text().trim()).toMatch(/^import: no longer followed \(it goes on\) after \d+\.\d s$/);
  });
});
