import { describe, expect, it } from 'vitest';
import { decodeProfiles, encodeProfiles } from '../../../src/profiles/profile-codec.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { createRedactionRunner } from '../../../src/privacy/redaction-runner.js';
import { dataset, events, items, NOW } from '../profiles/profile-fixtures.js';

describe('an erasure where the redaction worker thread cannot start', () => {
  it('When starting the thread throws, Then the job is done on the calling thread and the failure told once', async () => {
    const profiles = segmentProfiles(computeProfiles(dataset(events, items, NOW)));
    const ids = profiles.map((p) => p.userId);
    const bytes = encodeProfiles(profiles, { now: Date.parse(NOW) });
    const failures: Error[] = [];
    // A thread that cannot be made (new Worker throws: no bundle and no loader, too many threads).
    const runner = createRedactionRunner({
      onWorkerFailed: (err) => failures.push(err),
      startWorker: () => {
        throw new Error('ERR_WORKER_INIT_FAILED: no thread');
      },
    });
    const first = await runner.run({ kind: 'profiles', bytes, userIds: [ids[0]] });
    const second = await runner.run({ kind: 'profiles', bytes, userIds: [ids[1]] });
    expect(decodeProfiles(first.bytes!).profiles.map((p) => p.userId)).toEqual(ids.filter((id) => id !== ids[0]));
    expect(decodeProfiles(second.bytes!).profiles.map((p) => p.userId)).toEqual(ids.filter((id) => id !== ids[1]));
    expect(failures.map((e) => e.message)).toEqual(['ERR_WORKER_INIT_FAILED: no thread']);
    await runner.close();
  });
});
