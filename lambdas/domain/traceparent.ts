import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context `traceparent` (version 00): `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
 * The caller's trace is kept on the job; each upstream call is a new span of it.
 */
export interface TraceParent {
  traceId: string;
  parentId: string;
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The header's parts, or undefined for a header the spec says to ignore (then the hub starts a trace). */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  // Version ff is invalid; version 00 has exactly four parts; all-zero ids are invalid.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

export function formatTraceparent(tp: TraceParent): string {
  return `00-${tp.traceId}-${tp.parentId}-${tp.flags}`;
}

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}

/** A new trace (sampled), for a callout that came without one. */
export function newTraceparent(): string {
  return formatTraceparent({ traceId: nonZeroHex(16), parentId: nonZeroHex(8), flags: '01' });
}

/** The header for a call made on behalf of `traceparent`: the same trace and flags, a new span id. */
export function childTraceparent(traceparent: string): string {
  const parent = parseTraceparent(traceparent);
  if (!parent) return newTraceparent();
  let parentId = nonZeroHex(8);
  while (parentId === parent.parentId) parentId = nonZeroHex(8);
  return formatTraceparent({ traceId: parent.traceId, parentId, flags: parent.flags });
}
