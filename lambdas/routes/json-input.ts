import { InvalidPayloadError } from '../shared/errors';

/**
 * Checks every JSON request body before any schema sees it, so that what the
 * hub accepts it can also store: a job's payload becomes a DynamoDB attribute,
 * and DynamoDB refuses (with a 500 for us) what these checks refuse up front.
 *
 * One walk, iterative (a 5000-level body must not overflow the stack), checks:
 * - numbers DynamoDB can store: 0, or a magnitude in [1e-130, 1e126). JSON.parse
 *   turns 1e400 into Infinity and keeps 17 significant digits at most, so the
 *   38-digit precision limit can never be hit by a parsed number;
 * - keys: `__proto__`, `constructor` and `prototype` are refused at any depth
 *   (JSON.parse makes `__proto__` an own key; copied into a plain object later
 *   it would replace that object's prototype);
 * - nesting: DynamoDB stores 32 levels, and it counts the item as the first
 *   (measured on AWS: an attribute holding 31 nested maps is accepted, 32 are
 *   refused). The payload is one attribute of the job item, one level below the
 *   body, so a body may nest MAX_JSON_DEPTH = 32 levels and its payload 31;
 * - text: strings and keys must be well-formed Unicode (no lone surrogates,
 *   which have no UTF-8 form), and a key at most 65,535 bytes (DynamoDB's
 *   limit for attribute names, nested map keys included).
 */
export const MAX_JSON_DEPTH = 32;
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_KEY_BYTES = 65_535;
const MIN_MAGNITUDE = 1e-130;
const MAX_MAGNITUDE = 1e126;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether DynamoDB can store this number exactly as JSON.stringify writes it. */
export function isStorableNumber(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const m = Math.abs(n);
  return m === 0 || (m >= MIN_MAGNITUDE && m < MAX_MAGNITUDE);
}

interface Frame {
  value: unknown;
  /** Containers from the root down to and including this value's parent. */
  depth: number;
  parent?: Frame;
  key?: string | number;
}

function pathOf(frame: Frame | undefined): string {
  const parts: string[] = [];
  for (let f = frame; f?.parent !== undefined; f = f.parent)
    parts.push(typeof f.key === 'number' ? `[${f.key}]` : `.${f.key}`);
  return `$${parts.reverse().join('')}`;
}

function describeKey(key: string): string {
  return key.length > 40 ? `${JSON.stringify(key.slice(0, 40))}...` : JSON.stringify(key);
}

/** Throws InvalidPayloadError (400 INVALID_PAYLOAD) naming the first offending place, as a JSON path. */
export function checkJsonInput(root: unknown, what = 'body'): void {
  const stack: Frame[] = [{ value: root, depth: 0 }];
  const fail = (frame: Frame, message: string): never => {
    throw new InvalidPayloadError(`Invalid ${what}: ${pathOf(frame)}: ${message}`);
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (typeof value === 'number') {
      if (!isStorableNumber(value))
        fail(frame, `the number ${value} cannot be stored; numbers must be 0 or between 1e-130 and 1e126 in magnitude`);
      continue;
    }
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) fail(frame, 'the text is not well-formed Unicode (it has an unpaired surrogate)');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > MAX_JSON_DEPTH)
      fail(frame, `nests deeper than ${MAX_JSON_DEPTH} levels (objects and arrays), more than the hub can store`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push({ value: value[i], depth, parent: frame, key: i });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i -= 1) {
      const key = keys[i]!;
      if (FORBIDDEN_KEYS.has(key))
        fail(
          frame,
          `the key ${describeKey(key)} is not allowed (__proto__, constructor and prototype are refused at any depth)`,
        );
      if (LONE_SURROGATE.test(key))
        fail(frame, `the key ${describeKey(key)} is not well-formed Unicode (it has an unpaired surrogate)`);
      if (Buffer.byteLength(key) > MAX_KEY_BYTES)
        fail(frame, `the key ${describeKey(key)} is longer than ${MAX_KEY_BYTES} bytes`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth, parent: frame, key });
    }
  }
}
