import { Command } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/**
 * SET key value PX ms whose value goes to the socket as it is. ioredis encodes a command with Buffer
 * arguments by copying all of them into one new buffer (Command#toWritable): for a model artifact (ALS's
 * 121 MB at ten times Online Retail) a synchronous copy that held the writing process's event loop
 * 520-658 ms (bench/artifact-read.ts), and training runs in the API process by default, erasures always
 * do. Here the command's head and the value are written to the socket ioredis hands toWritable (the
 * connection the command goes out on, written in this order before ioredis writes what it returns), and
 * only the tail is returned. Standalone commands only: in a pipeline or MULTI ioredis collects the
 * writables before it writes any, and these bytes would go out first.
 */
class UncopiedSetCommand extends Command {
  constructor(
    private readonly key: string,
    private readonly value: Buffer,
    private readonly expireMs: number,
  ) {
    super('set', [key, value, 'PX', expireMs], { replyEncoding: 'utf8' });
  }

  override toWritable(socket: object): string | Buffer {
    const out = socket as { write(chunk: string | Buffer): boolean };
    out.write(`*5\r\n$3\r\nSET\r\n$${Buffer.byteLength(this.key)}\r\n${this.key}\r\n$${this.value.byteLength}\r\n`);
    out.write(this.value);
    const px = String(this.expireMs);
    return `\r\n$2\r\nPX\r\n$${px.length}\r\n${px}\r\n`;
  }
}

/** SET key value PX expireMs of a large value without ioredis's copy of it; resolves to Redis's reply ('OK'). */
export function setUncopied(redis: RedisClient, key: string, value: Buffer, expireMs: number): Promise<unknown> {
  if (!Number.isInteger(expireMs) || expireMs <= 0) throw new RangeError(`expireMs must be a positive integer, got ${expireMs}`);
  const command = new UncopiedSetCommand(key, value, expireMs);
  redis.sendCommand(command);
  return command.promise;
}
