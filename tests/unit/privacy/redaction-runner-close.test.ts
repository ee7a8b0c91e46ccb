import { describe, expect, it } from 'vitest';
import { decodeProfiles, encodeProfiles } from '../../../src/profiles/profile-codec.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { createRedactionRunner } from '../../../src/privacy/redaction-runner.js';
import { dataset, events, items, NOW } from '../profiles/profile-fixtures.js';

/** A runner closed (the service shutting down) while an erasure waits on its worker must not leave that erasure hanging. */
describe('a redaction runner closed while its worker holds a job', () => {
  it('When it is closed right after the job was handed over, Then the job still ends, rightly', async () => {
    const profiles = segmentProfiles(computeProfiles(dataset(events, items, NOW)));
    const ids = profiles.map((p) => p.userId);
    const bytes = encodeProfiles(profiles, { now: Date.parse(NOW) });
    const failures: Error[] = [];
    const runner = createRedactionRunner({ onWorkerFailed: (err) => failures.push(err) });
    const job = runner.run({ kind: 'profiles', bytes, userIds: [ids[0]] });
    await runner.close();
    const result = await job;
    expect(decodeProfiles(result.bytes!).profiles.map((p) => p.userId)).toEqual(ids.slice(1));
    // A close is not a failure of the worker.
    expect(failures).toEqual([]);
  }, 30_000);
});
