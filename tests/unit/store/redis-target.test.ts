import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { redisTarget } from '../../../src/store/redis-connection.js';

describe('which Redis the configuration names', () => {
  it('When only REDIS_URL names one server, Then the target is that server, URL untouched', () => {
    expect(redisTarget({ REDIS_URL: 'redis://:pw@10.0.0.1:6380/2' })).toEqual({ kind: 'single', url: 'redis://:pw@10.0.0.1:6380/2' });
    expect(redisTarget({ REDIS_URL: undefined })).toBeNull();
  });

  it('When REDIS_URL is a redis+cluster URL, Then the target is a cluster seeded by its host, with its credentials and TLS', () => {
    expect(redisTarget({ REDIS_URL: 'rediss+cluster://app:s%40cret@redis.internal:7000' })).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'redis.internal', port: 7000 }],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
  });

  it('When REDIS_CLUSTER_NODES is set, Then those are the seeds; REDIS_URL adds credentials and one more seed, duplicates dropped', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002', REDIS_URL: 'redis://:pw@10.0.0.1:7000' });
    expect(redisTarget(config)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      password: 'pw',
      tls: false,
    });
  });

  it('When REDIS_CLUSTER_NODES alone is set, Then REDIS_URL becomes the cluster URL of its first seed (Redis is in use)', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' });
    expect(config.REDIS_URL).toBe('redis+cluster://10.0.0.1:7000');
    expect(redisTarget(config)).toMatchObject({ kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }] });
  });

  it('When a node is not host:port or the cluster URL names a database, Then the configuration is refused naming the variable', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES: expected host:port/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:99999' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000/3' })).toThrow(/REDIS_URL: a Redis Cluster has only database 0/);
  });
});
