import { readFileSync } from 'node:fs';

/**
 * The fields of a Linux /proc stat file (`/proc/PID/stat` or `/proc/PID/task/TID/stat`)
 * after the command name, which may itself hold spaces: index 11 is utime,
 * 12 stime (clock ticks, 100 Hz), 16 the nice value.
 */
export function procStat(path: string): string[] {
  return readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
}
