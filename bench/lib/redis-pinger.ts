/**
 * A Redis client in a process of its own (forked by a bench): sends PING after PING to REDIS_URL and, on
 * the message 'start', forgets what it measured; on 'stop', replies with the slowest PING since and the
 * count. Its own event loop does nothing else, so the slowest PING is how long Redis answered no one.
 */
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL!);
let slowest = 0;
let pings = 0;
process.on('message', (msg) => {
  if (msg === 'start') [slowest, pings] = [0, 0];
  else if (msg === 'stop') process.send!({ slowest, pings });
  else if (msg === 'exit') {
    redis.disconnect();
    process.exit(0);
  }
});
for (;;) {
  const t0 = performance.now();
  await redis.ping();
  slowest = Math.max(slowest, performance.now() - t0);
  pings++;
}
