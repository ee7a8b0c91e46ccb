/**
 * Configuration mistakes an operator makes (an operator walkthrough found each): a value the service
 * cannot use stops it with a line naming the variable; a misspelt name, which would run the service on
 * its defaults, is warned about; and no message echoes a secret.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, configSummary, configWarnings, loadConfig } from '../../../src/config.js';
import { checkServerConfig, checkStartupConfig } from '../../../src/startup-checks.js';

const refused = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
};

describe('configuration mistakes', () => {
  it('When a store URL has the wrong scheme or a path that is no database number, Then the process is refused with the variable named', () => {
    expect(refused({ REDIS_URL: 'http://127.0.0.1:6379/8' })).toMatch(/REDIS_URL: expected a redis, rediss, redis\+cluster, rediss\+cluster, unix URL/);
    expect(refused({ REDIS_URL: 'redis://127.0.0.1:6379/eight' })).toMatch(/REDIS_URL: the path is a database number/);
    expect(refused({ DATABASE_URL: 'mysql://db:3306/shop' })).toMatch(/DATABASE_URL: expected a postgres, postgresql URL/);
    // A unix socket: an absolute path, a database number, credentials as parameters, nothing else.
    expect(refused({ REDIS_URL: 'unix://cache/redis.sock' })).toMatch(/REDIS_URL: a unix socket URL is unix:\/\/ and the socket's absolute path/);
    expect(refused({ REDIS_URL: 'unix:///' })).toMatch(/REDIS_URL: a unix socket URL is unix:\/\/ and the socket's absolute path/);
    expect(refused({ REDIS_URL: 'unix:///run/redis.sock?db=two' })).toMatch(/REDIS_URL: db is a database number/);
    expect(refused({ REDIS_URL: 'unix:///run/redis.sock?database=2' })).toMatch(/REDIS_URL: a unix socket URL takes only db, username, password parameters, not "database"/);
    expect(refused({ REDIS_URL: 'unix:///run/redis.sock', REDIS_CLUSTER_NODES: 'h:7000' })).toMatch(/REDIS_URL: a unix:\/\/ socket is one server/);
    expect(refused({ REDIS_URL: 'unix:///run/redis%zz.sock' })).toMatch(/REDIS_URL: a unix socket URL has a "%" that is no escape/);
    expect(refused({ REDIS_URL: 'unix:///run/redis.sock?password=50%' })).toMatch(/REDIS_URL: a unix socket URL has a "%" that is no escape/);
    // What they accept.
    for (const REDIS_URL of ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'rediss://:pw@h:6380/2', 'redis+cluster://h:7000', 'unix:///run/redis/redis.sock?db=3&password=pw']) {
      expect(loadConfig({ REDIS_URL }).REDIS_URL).toBe(REDIS_URL);
    }
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/shop' }).DATABASE_URL).toBe('postgresql://u@h:5432/shop');
  });

  it('When a store URL does not parse as a URL (a password with "#" or "/" not percent-encoded, a port typo), Then the start is refused naming the variable and not the password', () => {
    // Each of these threw a bare TypeError "Invalid URL": the process said "failed to start: Invalid URL",
    // naming neither the variable nor what is wrong with it.
    for (const [name, value] of [
      ['DATABASE_URL', 'postgres://shop:pa#ss@db.internal:5432/shop'],
      ['DATABASE_URL', 'postgres://shop@db.internal:54x2/shop'],
      ['DATABASE_URL', 'db.internal'],
      ['REDIS_URL', 'redis://:s3cr/t@cache:6379/2'],
      ['REDIS_URL', 'redis://cache:99999'],
    ] as const) {
      const message = refused({ [name]: value });
      expect(message, value).toMatch(new RegExp(`${name}: `));
      expect(message).not.toMatch(/pa#ss|s3cr/);
    }
  });

  it('When REDIS_COMMAND_TIMEOUT_MS is not whole milliseconds from 100 to 600000, Then the start is refused naming it and the range; unset is 2000', () => {
    expect(loadConfig({}).REDIS_COMMAND_TIMEOUT_MS).toBe(2000);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '60000' }).REDIS_COMMAND_TIMEOUT_MS).toBe(60_000);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '100' }).REDIS_COMMAND_TIMEOUT_MS).toBe(100);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '600000' }).REDIS_COMMAND_TIMEOUT_MS).toBe(600_000);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: ' ' }).REDIS_COMMAND_TIMEOUT_MS).toBe(2000);
    // A unit written out, or seconds meant: not a number of milliseconds.
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '2s' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: expected milliseconds, a whole number from 100 to 600000/);
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '1.5' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: expected whole milliseconds from 100 to 600000/);
    // 0 is no "no timeout" (ioredis would wait for ever on a Redis that stopped answering), and 99 ms is too short.
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '0' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: at least 100 ms: .*there is no "no timeout"/);
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '99' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: at least 100 ms/);
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '-2000' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: at least 100 ms/);
    expect(refused({ REDIS_COMMAND_TIMEOUT_MS: '600001' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS: at most 600000 ms/);
  });

  it('When a variable is blank (PORT=" "), Then it counts as unset, as an empty one does, not as the number 0', () => {
    expect(loadConfig({ PORT: ' ' }).PORT).toBe(3000);
    expect(loadConfig({ PORT: '\t', MAX_BATCH_SIZE: '  ' })).toMatchObject({ PORT: 3000, MAX_BATCH_SIZE: 5000 });
    expect(loadConfig({ PORT: ' 8080 ' }).PORT).toBe(8080);
  });

  it('When a CORS_ORIGINS entry is a wildcard pattern (https://*.shop.example), Then the start is refused: no browser ever sends such an Origin', () => {
    // WHATWG URL parsing accepts "*" in a host, so the entry would pass as its own origin and match nothing.
    expect(refused({ CORS_ORIGINS: 'https://*.shop.example' })).toMatch(/CORS_ORIGINS: "https:\/\/\*\.shop\.example" is not an origin: it has a wildcard/);
  });

  it('When DATABASE_URL is blank (so unset) beside a misspelt DATABSE_URL, Then the typo is still warned about', () => {
    const env = { DATABASE_URL: ' ', DATABSE_URL: 'postgres://db.internal:5432/shop' };
    expect(loadConfig(env).DATABASE_URL).toBeUndefined();
    expect(configWarnings(env)).toEqual([expect.stringContaining('DATABSE_URL is set but not read: did you mean DATABASE_URL?')]);
  });

  it('When TRUST_PROXY is neither true/false nor addresses, Then the process is refused naming TRUST_PROXY; addresses, CIDRs and ranges by name pass', () => {
    expect(refused({ TRUST_PROXY: 'yes' })).toMatch(/TRUST_PROXY: expected true, false or addresses\/CIDRs .* got "yes"/);
    expect(refused({ TRUST_PROXY: '10.0.0.0/33' })).toMatch(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1, ::1, fd00::/8, loopback, 172.16.0.0/255.240.0.0' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '192.168.1.1', '::1', 'fd00::/8', 'loopback', '172.16.0.0/255.240.0.0']);
  });

  it('When an API key entry is malformed, Then the message names the variable but no part of the key', () => {
    const message = refused({ API_KEYS: 'fronted:Sup3rSecretKey1' });
    expect(message).toMatch(/API_KEYS: .*got scope "fronted" \(did you mean frontend\?\) and a key of 15 characters/);
    expect(message).not.toContain('Sup3');
    expect(refused({ API_KEYS: 'Sup3rSecretKeyWithoutScope' })).not.toContain('Sup3');
    // Written key first: the part before the colon is the secret, so it is not shown as a scope.
    const reversed = refused({ API_KEYS: 'Sup3rSecretKey:admin' });
    expect(reversed).toMatch(/got an unknown scope of 14 characters/);
    expect(reversed).not.toContain('Sup3');
  });

  it('When a variable is a letter or two from one the service reads, Then a warning names the one meant; real names and unrelated ones are quiet', () => {
    expect(configWarnings({ DATABSE_URL: 'postgres://x', API_KEY: 'admin:12345678', REDIS_ULR: 'redis://x' })).toEqual([
      'DATABSE_URL is set but not read: did you mean DATABASE_URL?',
      'API_KEY is set but not read: did you mean API_KEYS?',
      'REDIS_ULR is set but not read: did you mean REDIS_URL?',
    ]);
    expect(configWarnings({ DATABASE_URL: 'postgres://x', PATH: '/bin', HOME: '/root', NODE_ENV: 'production', HOSTNAME: 'web-1', TERM: 'xterm' })).toEqual([]);
    // Both set: the misspelt one is a leftover, not the only word on the matter.
    expect(configWarnings({ API_KEY: 'x', API_KEYS: 'admin:12345678' })).toEqual([]);
  });

  it('When the process starts, Then its summary says where its data is without any password', () => {
    const summary = configSummary(loadConfig({ DATABASE_URL: 'postgres://app:hunter22@db.internal:5432/shop', REDIS_URL: 'redis://:s3cret@cache:6379/8', API_KEYS: 'frontend:abcdefgh1,admin:abcdefgh2' }));
    expect(summary).toMatchObject({ database: 'postgres://db.internal:5432/shop', modelStore: 'redis://cache:6379/8', apiKeys: 'frontend,admin', jobRunner: 'inline' });
    expect(JSON.stringify(summary)).not.toMatch(/hunter22|s3cret|abcdefgh/);
    const socket = configSummary(loadConfig({ REDIS_URL: 'unix:///run/redis/redis.sock?db=2&password=s3cret' }));
    expect(socket.modelStore).toBe('unix:///run/redis/redis.sock?db=2');
  });

  it('When DEFAULT_RECIPE names no recipe, Then the start is refused naming it; the shipped default passes', async () => {
    await expect(checkStartupConfig(loadConfig({ DEFAULT_RECIPE: 'nosuchrecipe' }))).rejects.toThrow(/DEFAULT_RECIPE: .*nosuchrecipe/);
    await expect(checkStartupConfig(loadConfig({}))).resolves.toBeUndefined();
  });

  it('When a server is told JOB_RUNNER=worker on embedded data, Then its start is refused naming JOB_RUNNER and what is unset; with both stores shared it passes', () => {
    const pg = 'postgres://u@db:5432/shop';
    expect(() => checkServerConfig(loadConfig({ JOB_RUNNER: 'worker' }))).toThrow(/JOB_RUNNER: .*DATABASE_URL and REDIS_URL are unset/);
    expect(() => checkServerConfig(loadConfig({ JOB_RUNNER: 'worker', DATABASE_URL: pg }))).toThrow(/JOB_RUNNER: .*REDIS_URL is unset/);
    expect(() => checkServerConfig(loadConfig({ JOB_RUNNER: 'worker', REDIS_URL: 'redis://cache:6379' }))).toThrow(ConfigError);
    expect(() => checkServerConfig(loadConfig({ JOB_RUNNER: 'worker', DATABASE_URL: pg, REDIS_URL: 'redis://cache:6379' }))).not.toThrow();
    expect(() => checkServerConfig(loadConfig({ JOB_RUNNER: 'worker', DATABASE_URL: pg, REDIS_CLUSTER_NODES: 'h:7000' }))).not.toThrow();
    expect(() => checkServerConfig(loadConfig({}))).not.toThrow();
  });
});
