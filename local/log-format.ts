/**
 * `npm start` output: the handlers' Powertools JSON log lines as short
 * readable lines (LOG_FORMAT=json keeps the JSON, as CloudWatch gets it).
 * Lines that are not Powertools log records (EMF, banners) pass unchanged.
 */

/** Keys every record carries that say nothing about the job. */
const QUIET = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_name',
  'function_memory_size',
  'function_arn',
  'function_request_id',
]);

/** One JSON log line as `HH:MM:SS.mmm LEVEL message key=value ...`; anything else unchanged. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof record.level !== 'string' || typeof record.message !== 'string') return line;
  const time = typeof record.timestamp === 'string' ? record.timestamp.slice(11, 23) : '';
  const fields = Object.entries(record)
    .filter(([key, value]) => !QUIET.has(key) && value !== undefined)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' ? (/\s/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value)}`,
    );
  return [time, record.level.padEnd(5), record.message, ...fields].filter(Boolean).join(' ');
}

/**
 * Rewrites whole lines written to `stream` (worker threads' output reaches
 * the main thread's process.stdout through the same write()).
 */
export function installLogFormat(stream: NodeJS.WriteStream, format: (line: string) => string = formatLogLine): void {
  const write: (chunk: string) => boolean = stream.write.bind(stream);
  let partial = '';
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    const text = partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    const ok = lines.length === 0 ? true : write(lines.map(format).join('\n') + '\n');
    callback?.();
    return ok;
  };
}
