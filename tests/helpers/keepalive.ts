import { execFileSync } from 'node:child_process';

/** `ss` is on this machine: the kernel's TCP timers can be read. */
export const ssAvailable = (() => {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Seconds until the keepalive timer of our TCP socket with this local port fires, as the kernel says. */
export function keepaliveSeconds(localPort: number): number {
  const line = execFileSync('ss', ['-tnoH', 'state', 'established', `sport = :${localPort}`], { encoding: 'utf8' });
  const timer = /timer:\(keepalive,([\d.]+)(min|sec|ms)/.exec(line);
  if (!timer) throw new Error(`no keepalive timer on port ${localPort}: ${line}`);
  return Number(timer[1]) * { min: 60, sec: 1, ms: 0.001 }[timer[2] as 'min' | 'sec' | 'ms'];
}
