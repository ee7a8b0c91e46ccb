import { readFileSync } from 'node:fs';

/** Linux's clock ticks a second (`getconf CLK_TCK`): 100 on every kernel this project runs on. */
export const TICKS_PER_SECOND = 100;

/** The fields of /proc/PID/stat this tool reads, CPU in clock ticks; undefined when the process is gone. */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of the children the process has waited for (reaped), and theirs. */
  cutime: number;
  cstime: number;
}

export function readProcStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may hold spaces or parentheses itself: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    comm: text.slice(text.indexOf('(') + 1, close),
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    cutime: Number(rest[13]),
    cstime: Number(rest[14]),
  };
}
