import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/data/open-database.js';
import { freePort } from '../../helpers/private-servers.js';

describe('a process starting while Postgres cannot be reached', () => {
  it('When nothing listens at DATABASE_URL, Then the start fails with a line naming the variable and where it points, without the password', async () => {
    const port = await freePort();
    const start = openDatabase({ DATABASE_URL: `postgres://app:hunter22@127.0.0.1:${port}/shop`, DATA_DIR: '/nonexistent' });
    await expect(start).rejects.toThrow(new RegExp(`^the database at postgres://127\\.0\\.0\\.1:${port}/shop \\(DATABASE_URL\\) cannot be reached: .*ECONNREFUSED`));
    await expect(start).rejects.not.toThrow(/hunter22/);
  });
});
