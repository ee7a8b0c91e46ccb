import { describe, expect, it } from 'vitest';
import { READONLY_RECONNECT_GAP_MS, reconnectOnReadOnly } from '../../../src/store/redis-connection.js';

describe('reconnectOnReadOnly', () => {
  it('When replies say READONLY, Then the client reconnects for the first, and again only once READONLY_RECONNECT_GAP_MS has passed (no reconnect storm on a replica named for good)', () => {
    let clock = 10_000;
    const decide = reconnectOnReadOnly(() => clock);
    const readOnly = new Error("READONLY You can't write against a read only replica.");
    expect(decide(readOnly)).toBe(true);
    // Every other reply of the same burst (a pipeline's, the calls beside it) reuses that reconnect.
    clock += 10;
    expect(decide(readOnly)).toBe(false);
    clock += READONLY_RECONNECT_GAP_MS - 20;
    expect(decide(readOnly)).toBe(false);
    clock += 20;
    expect(decide(readOnly)).toBe(true);
  });

  it('When a reply is another error, Then the connection is kept', () => {
    const decide = reconnectOnReadOnly(() => 0);
    expect(decide(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(decide(new Error('EXECABORT Transaction discarded because of previous errors.'))).toBe(false);
    expect(decide(new Error('Command timed out'))).toBe(false);
  });
});
