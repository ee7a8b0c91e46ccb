/**
 * A vitest global setup (bench/suite-cpu.config.ts): while the run lasts, every SAMPLE_MS it reads the CPU of the
 * Postgres backends serving this run's database (the one DATABASE_URL names; other sessions' backends on the same
 * server are left out by their process title, `postgres: [CLUSTER: ]USER DB HOST(PORT) STATE`), and for each new backend which
 * vitest worker opened it: the client port of the title is looked up in /proc/net/tcp, its socket among the open
 * files of the run's processes, and that process's parents up to the worker (a direct child of this, vitest's main
 * process). Each sample's CPU growth of a backend is written to $SUITE_CPU_DIR/postgres.jsonl as
 * `{ t, worker, ms }`; bench/suite-cpu.ts gives it to the file that worker ran at `t`. Rough by design: a backend's CPU
 * after its last sample (it exited) is not seen, and one a child outside the run's tree opened counts as no worker's.
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { readProcStat, TICKS_PER_SECOND } from './proc-stat.js';

const SAMPLE_MS = 250;

interface Backend {
  worker: number;
  cpuTicks: number;
}

export default function setup(): () => void {
  const out = process.env.SUITE_CPU_DIR;
  const url = process.env.DATABASE_URL;
  if (!out || !url) return () => {};
  const database = new URL(url).pathname.slice(1);
  const main = process.pid;
  // The servers' postmasters, found once: a sample reads their children lists, not every process of the machine (a
  // whole-/proc scan every 250 ms cost the main process about 6 ms of system time each on a loaded machine).
  const postmasters = findPostmasters();
  const backends = new Map<number, Backend>();
  const others = new Set<number>(); // backends of other databases (other sessions), never read again
  let lines: string[] = [];

  const workerOf = (pid: number): number => {
    for (let at = readProcStat(pid); at; at = readProcStat(at.ppid)) if (at.ppid === main) return at.pid;
    return 0;
  };
  const sample = () => {
    let sockets: Map<number, number> | undefined; // client port -> socket inode, read once a sample when needed
    let owners: Map<number, number> | undefined; // socket inode -> pid of the run's process holding it
    const t = Date.now();
    const seen = new Set<number>();
    for (const pid of postmasters.flatMap(childrenOf)) {
      seen.add(pid);
      if (others.has(pid)) continue;
      let known = backends.get(pid);
      if (!known) {
        let title = '';
        try {
          title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        const m = /^postgres: (?:[^:\s]+: )?\S+ (\S+) [^(\s]+\((\d+)\)/.exec(title);
        if (!m || m[1] !== database) {
          others.add(pid);
          continue;
        }
        sockets ??= clientSockets();
        owners ??= socketOwners(main);
        const inode = sockets.get(Number(m[2]));
        const owner = inode === undefined ? undefined : owners.get(inode);
        known = { worker: owner === undefined ? 0 : workerOf(owner), cpuTicks: 0 };
        backends.set(pid, known);
      }
      const stat = readProcStat(pid);
      if (!stat) continue;
      const cpuTicks = stat.utime + stat.stime;
      const grew = cpuTicks - known.cpuTicks;
      known.cpuTicks = cpuTicks;
      if (grew > 0) lines.push(JSON.stringify({ t, worker: known.worker, ms: (grew * 1000) / TICKS_PER_SECOND }));
    }
    for (const pid of backends.keys()) if (!seen.has(pid)) backends.delete(pid);
    for (const pid of others) if (!seen.has(pid)) others.delete(pid);
    if (lines.length) {
      appendFileSync(path.join(out, 'postgres.jsonl'), `${lines.join('\n')}\n`);
      lines = [];
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
  };
}

/** The postmasters: processes named postgres whose parent is not. */
function findPostmasters(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat?.comm === 'postgres' && readProcStat(stat.ppid)?.comm !== 'postgres') found.push(stat.pid);
  }
  return found;
}

/** A process's children (of all its threads), from /proc/PID/task/TID/children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The local port -> socket inode of each TCP socket (IPv4 and IPv6): a backend's client port is the client's local one. */
function clientSockets(): Map<number, number> {
  const sockets = new Map<number, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = parseInt(cols[1].split(':')[1], 16);
      const remotePort = parseInt(cols[2].split(':')[1], 16);
      // A client's socket: its remote end is Postgres's port; several clients may share no local port.
      if (remotePort > 0) sockets.set(port, Number(cols[9]));
    }
  }
  return sockets;
}

/** socket inode -> pid, over the processes of this run (the main process's descendants). */
function socketOwners(main: number): Map<number, number> {
  const owners = new Map<number, number>();
  const stack = childrenOf(main);
  while (stack.length) {
    const pid = stack.pop()!;
    stack.push(...childrenOf(pid));
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) owners.set(Number(m[1]), pid);
    }
  }
  return owners;
}
