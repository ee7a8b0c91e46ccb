import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8'));

/**
 * `engines` says which Node the service runs on (and the Dockerfile's base image is that Node): every
 * locked dependency must accept its oldest version, or `npm ci` warns (EBADENGINE) and the package may
 * use APIs that Node lacks. The lockfile records each package's own `engines`.
 */
describe('dependencies and the Node version', () => {
  const pkg = read('package.json');
  const lock = read('package-lock.json');
  const oldest = semver.minVersion(pkg.engines.node);

  it('When the lockfile is installed, Then every package accepts the oldest Node that engines allows', () => {
    expect(oldest?.major).toBe(20);
    const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([, p]) => typeof p.engines?.node === 'string' && !semver.satisfies(oldest!, p.engines.node))
      .map(([name, p]) => `${name} needs node ${p.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  it('When the image is built, Then it uses the Node major that engines names and runs the compiled server', () => {
    const dockerfile = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBeGreaterThan(0);
    expect(new Set(bases)).toEqual(new Set([oldest!.major]));
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/CMD \["node", "--max-semi-space-size=64", "dist\/server\.js"\]/);
  });
});
