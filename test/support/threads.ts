import fs from 'node:fs';

/** The nice value of one thread of a process, from /proc (field 19 of its stat line). */
export function threadNice(tid: number | string, pid: number | 'self' = 'self'): number {
  const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** How many threads of a process run at a lower priority (a higher nice value) than its main thread. */
export function loweredThreads(pid: number): number {
  const main = threadNice(pid, pid);
  return fs.readdirSync(`/proc/${pid}/task`).filter((t) => threadNice(t, pid) > main).length;
}
