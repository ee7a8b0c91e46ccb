import { Command } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/**
 * SET key value [XX] whose value goes to the socket as it is. ioredis encodes a command with Buffer
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
    private readonly onlyIfExists: boolean,
  ) {
    super('set', onlyIfExists ? [key, value, 'XX'] : [key, value], { replyEncoding: 'utf8' });
  }

  override toWritable(socket: object): string | Buffer {
    const out = socket as { write(chunk: string | Buffer): boolean };
    out.write(`*${this.onlyIfExists ? 4 : 3}\r\n$3\r\nSET\r\n$${Buffer.byteLength(this.key)}\r\n${this.key}\r\n$${this.value.byteLength}\r\n`);
    out.write(this.value);
    return this.onlyIfExists ? '\r\n$2\r\nXX\r\n' : '\r\n';
  }
}

/** SET (with `onlyIfExists`, SET ... XX) of a large value without ioredis's copy of it; resolves to Redis's reply ('OK' or null). */
export function setUncopied(redis: RedisClient, key: string, value: Buffer, onlyIfExists = false): Promise<unknown> {
  const command = new UncopiedSetCommand(key, value, onlyIfExists);
  redis.sendCommand(command);
  return command.promise;
}
