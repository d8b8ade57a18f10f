import { RequestPreparationError } from '../../shared/errors';

/** SOQL string literal escapes (Salesforce "Quoted String Escape Sequences"). */
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** One SOQL literal: strings quoted and escaped, finite numbers, booleans, null. */
export function literal(value: unknown, name: string): string {
  if (typeof value === 'string') return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c]!)}'`;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  throw new RequestPreparationError(
    'INVALID_PAYLOAD',
    `The value of "${name}" for :${name} must be a string, number, boolean, null or an array of those`,
  );
}

/**
 * Fills `:name` bind variables of the operation's SOQL from the input's fields,
 * each as one SOQL literal (strings quoted and escaped, arrays as `(a, b)` for
 * IN): the caller supplies values, never SOQL, so nothing can be injected.
 * Colons inside quoted literals are left alone.
 */
export function bindSoql(soql: string, input: unknown): string {
  const params =
    input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  let out = '';
  let i = 0;
  while (i < soql.length) {
    const c = soql[i]!;
    if (c === "'") {
      // Copy a quoted literal as is, escapes included.
      let j = i + 1;
      while (j < soql.length && soql[j] !== "'") j += soql[j] === '\\' ? 2 : 1;
      out += soql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const bind = c === ':' ? /^[A-Za-z_][A-Za-z0-9_]*/.exec(soql.slice(i + 1)) : null;
    if (!bind) {
      out += c;
      i += 1;
      continue;
    }
    const name = bind[0];
    if (!(name in params) || params[name] === undefined) {
      throw new RequestPreparationError(
        'INVALID_PAYLOAD',
        `The input has no "${name}" field, needed by :${name} in the operation's SOQL`,
      );
    }
    const value = params[name];
    // A date literal with a count (LAST_N_DAYS:n, N_WEEKS_AGO:n) keeps its colon and takes an integer.
    if (/(?:^|[^A-Za-z0-9_])(?:\w+_)?N_\w+$/i.test(out)) {
      if (!Number.isInteger(value))
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `"${name}" for :${name} in a date literal must be an integer`,
        );
      out += `:${String(value)}`;
    } else if (Array.isArray(value)) {
      if (value.length === 0)
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `"${name}" for :${name} is an empty list; SOQL IN needs at least one value`,
        );
      out += `(${value.map((v) => literal(v, name)).join(', ')})`;
    } else {
      out += literal(value, name);
    }
    i += 1 + name.length;
  }
  return out;
}
