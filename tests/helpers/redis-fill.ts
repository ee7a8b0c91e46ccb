import { Redis } from 'ioredis';

/**
 * Fills the Redis at `url` (started with a small maxmemory and the noeviction policy) with other keys, as a cache
 * sharing it would, until it refuses a write: the refusal's message (`OOM ...`).
 */
export async function fillUntilRefused(url: string): Promise<string> {
  const filler = new Redis(url);
  try {
    for (let i = 0; ; i++) {
      const refused = await filler.set(`filler:${i}`, 'x'.repeat(4096)).then(() => null, (err: Error) => err);
      if (refused) return refused.message;
    }
  } finally {
    filler.disconnect();
  }
}
