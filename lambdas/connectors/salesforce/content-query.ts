import { literal } from './soql';
import { InvalidRequestError } from '../../shared/errors';
import { RECORD_ID } from '../../shared/ids';

/**
 * The `--where` of a Files migration is a condition on ContentVersion that an
 * admin types; it becomes part of a SOQL query the worker runs with the
 * integration user's rights. It is parsed here into a small expression tree
 * and the query is written back from that tree, never from the text, so what
 * reaches Salesforce can only be a filter on ContentVersion's own fields:
 *
 * - comparisons `Field op value` with =, !=, <>, <, <=, >, >=, LIKE, IN (...), NOT IN (...);
 * - joined with AND, OR, NOT and parentheses (nesting at most MAX_DEPTH);
 * - values: 'strings' (SOQL escapes), numbers, true/false/null, dates (2024-01-31),
 *   date-times (2024-01-31T10:00:00Z) and date literals (TODAY, LAST_N_DAYS:30);
 * - fields: plain names of ContentVersion (custom ones too), no dots: no parent
 *   fields (FirstPublishLocation.Name), so no other object is read;
 * - nothing else: no semicolons, no SELECT (semi-joins and subqueries reach other
 *   objects), no LIMIT/ORDER BY/WITH/FOR/USING, no comments, no bind variables;
 * - at most MAX_WHERE_LENGTH characters, MAX_TERMS comparisons, MAX_IN_VALUES values per IN.
 */
export const MAX_WHERE_LENGTH = 1000;
export const MAX_TERMS = 30;
export const MAX_DEPTH = 5;
export const MAX_IN_VALUES = 200;

/** Words SOQL reserves: never a field name here. */
const RESERVED = new Set(
  'AND ASC BY CUBE DESC EXCLUDES FALSE FIRST FOR FROM GROUP HAVING IN INCLUDES LAST LIKE LIMIT NOT NULL NULLS OFFSET OR ORDER ROLLUP ROWS SELECT TRUE TYPEOF UPDATE USING VIEW REFERENCE WHERE WITH SCOPE TRACKING VIEWSTAT ALL END ELSE WHEN THEN'.split(
    ' ',
  ),
);
const COMPARISONS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);
/** TODAY, LAST_WEEK, THIS_FISCAL_YEAR, LAST_N_DAYS:30, N_DAYS_AGO:7 ... */
const DATE_LITERAL =
  /^(?:TODAY|YESTERDAY|TOMORROW|(?:LAST|THIS|NEXT)_[A-Z0-9_]+|N_[A-Z_]+_AGO:\d{1,4}|(?:LAST|NEXT)_N_[A-Z_]+:\d{1,4})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))?$/;

type Token = { kind: 'word' | 'string' | 'number' | 'date' | 'op' | '(' | ')' | ','; text: string; at: number };

type Value = { kind: 'string'; value: string } | { kind: 'raw'; text: string };
export type WhereExpr =
  | { kind: 'cmp'; field: string; op: string; value: Value }
  | { kind: 'in'; field: string; not: boolean; values: Value[] }
  | { kind: 'and' | 'or'; parts: WhereExpr[] }
  | { kind: 'not'; part: WhereExpr };

function refuse(message: string): never {
  throw new InvalidRequestError(`Invalid where: ${message}`);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) refuse(`the string starting at character ${i + 1} is not closed`);
        const d = text[j]!;
        if (d === "'") break;
        if (d === '\\') {
          const e = text[j + 1];
          const unescaped =
            e === undefined
              ? undefined
              : (
                  { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', "'": "'", '"': '"', '\\': '\\' } as Record<
                    string,
                    string
                  >
                )[e];
          if (unescaped === undefined) refuse(`unknown escape \\${e ?? ''} at character ${j + 1}`);
          value += unescaped;
          j += 2;
          continue;
        }
        value += d;
        j += 1;
      }
      tokens.push({ kind: 'string', text: value, at: i });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c, at: i });
      i += 1;
      continue;
    }
    const op = /^(?:!=|<>|<=|>=|=|<|>)/.exec(text.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[0], at: i });
      i += op[0].length;
      continue;
    }
    const date = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))?/.exec(text.slice(i));
    if (date && DATE_TIME.test(date[0])) {
      tokens.push({ kind: 'date', text: date[0], at: i });
      i += date[0].length;
      continue;
    }
    const num = /^-?\d{1,18}(?:\.\d{1,18})?(?![\w.])/.exec(text.slice(i));
    if (num) {
      tokens.push({ kind: 'number', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z][A-Za-z0-9_]{0,79}(?::\d{1,4})?(?![\w:])/.exec(text.slice(i));
    if (word) {
      tokens.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    const what =
      c === ';'
        ? 'a semicolon (one condition only, no second statement)'
        : c === '.'
          ? 'a dot (only fields of ContentVersion itself, no parent fields)'
          : c === ':'
            ? 'a colon (no bind variables)'
            : JSON.stringify(c);
    refuse(`${what} at character ${i + 1} is not allowed`);
  }
  return tokens;
}

class Parser {
  private i = 0;
  private terms = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): WhereExpr {
    if (this.tokens.length === 0) refuse('it is empty');
    const expr = this.or(0);
    const rest = this.tokens[this.i];
    if (rest) refuse(`unexpected ${JSON.stringify(rest.text)} at character ${rest.at + 1}`);
    return expr;
  }

  private peekWord(word: string): boolean {
    const t = this.tokens[this.i];
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }

  private next(what: string): Token {
    const t = this.tokens[this.i++];
    if (!t) refuse(`${what} expected at the end`);
    return t;
  }

  private or(depth: number): WhereExpr {
    const parts = [this.and(depth)];
    while (this.peekWord('OR')) {
      this.i += 1;
      parts.push(this.and(depth));
    }
    return parts.length === 1 ? parts[0]! : { kind: 'or', parts };
  }

  private and(depth: number): WhereExpr {
    const parts = [this.not(depth)];
    while (this.peekWord('AND')) {
      this.i += 1;
      parts.push(this.not(depth));
    }
    return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
  }

  private not(depth: number): WhereExpr {
    if (this.peekWord('NOT')) {
      this.i += 1;
      return { kind: 'not', part: this.not(depth) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): WhereExpr {
    const t = this.next('a condition');
    if (t.kind === '(') {
      if (depth + 1 > MAX_DEPTH) refuse(`parentheses nest deeper than ${MAX_DEPTH}`);
      if (this.peekWord('SELECT')) refuse('subqueries (SELECT) are not allowed: filter on ContentVersion fields only');
      const inner = this.or(depth + 1);
      const close = this.next('")"');
      if (close.kind !== ')') refuse(`")" expected at character ${close.at + 1}`);
      return inner;
    }
    if (t.kind !== 'word') refuse(`a field name expected at character ${t.at + 1}, got ${JSON.stringify(t.text)}`);
    const field = t.text;
    if (field.includes(':') || RESERVED.has(field.toUpperCase()))
      refuse(`${JSON.stringify(field)} at character ${t.at + 1} is not a field name`);
    this.terms += 1;
    if (this.terms > MAX_TERMS) refuse(`more than ${MAX_TERMS} comparisons`);
    let not = false;
    if (this.peekWord('NOT')) {
      this.i += 1;
      not = true;
      if (!this.peekWord('IN')) refuse(`"IN" expected after "${field} NOT"`);
    }
    const op = this.next('an operator');
    if (op.kind === 'word' && op.text.toUpperCase() === 'IN') {
      const open = this.next('"("');
      if (open.kind !== '(') refuse(`"(" expected after IN at character ${open.at + 1}`);
      if (this.peekWord('SELECT')) refuse('subqueries (SELECT) are not allowed: filter on ContentVersion fields only');
      const values: Value[] = [];
      for (;;) {
        values.push(this.value());
        if (values.length > MAX_IN_VALUES) refuse(`more than ${MAX_IN_VALUES} values in one IN list`);
        const sep = this.next('"," or ")"');
        if (sep.kind === ')') break;
        if (sep.kind !== ',') refuse(`"," or ")" expected at character ${sep.at + 1}`);
      }
      return { kind: 'in', field, not, values };
    }
    if (op.kind === 'word' && op.text.toUpperCase() === 'LIKE') {
      const value = this.value();
      if (value.kind !== 'string') refuse(`LIKE takes a 'string' pattern`);
      return { kind: 'cmp', field, op: 'LIKE', value };
    }
    if (op.kind !== 'op' || !COMPARISONS.has(op.text))
      refuse(
        `an operator (=, !=, <, <=, >, >=, LIKE, IN, NOT IN) expected after ${field}, got ${JSON.stringify(op.text)}`,
      );
    return { kind: 'cmp', field, op: op.text, value: this.value() };
  }

  private value(): Value {
    const t = this.next('a value');
    if (t.kind === 'string') return { kind: 'string', value: t.text };
    if (t.kind === 'number' || t.kind === 'date') return { kind: 'raw', text: t.text };
    if (t.kind === 'word') {
      const upper = t.text.toUpperCase();
      if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL') return { kind: 'raw', text: upper.toLowerCase() };
      if (DATE_LITERAL.test(upper)) return { kind: 'raw', text: upper };
      if (upper === 'SELECT') refuse('subqueries (SELECT) are not allowed: filter on ContentVersion fields only');
    }
    refuse(
      `a value ('text', a number, true/false/null, a date or a date literal) expected at character ${t.at + 1}, got ${JSON.stringify(t.text)}`,
    );
  }
}

/** Parses a where condition (InvalidRequestError, 400, naming what is wrong, for anything outside the subset above). */
export function parseWhere(text: string): WhereExpr {
  if (text.length > MAX_WHERE_LENGTH)
    refuse(`it is ${text.length} characters; at most ${MAX_WHERE_LENGTH} are allowed`);
  return new Parser(tokenize(text)).parse();
}

function valueText(v: Value): string {
  return v.kind === 'string' ? literal(v.value, 'where') : v.text;
}

/** The condition written back as SOQL, every group in parentheses (SOQL refuses AND and OR mixed without them). */
export function whereSoql(expr: WhereExpr): string {
  switch (expr.kind) {
    case 'cmp':
      return `${expr.field} ${expr.op} ${valueText(expr.value)}`;
    case 'in':
      return `${expr.field} ${expr.not ? 'NOT IN' : 'IN'} (${expr.values.map(valueText).join(', ')})`;
    case 'not':
      return `NOT (${whereSoql(expr.part)})`;
    case 'and':
    case 'or':
      return `(${expr.parts.map(whereSoql).join(` ${expr.kind.toUpperCase()} `)})`;
  }
}

/** The checked condition in its canonical form: what is stored with the migration and put into every query. */
export function canonicalWhere(text: string): string {
  return whereSoql(parseWhere(text));
}

/** ContentVersion fields the migration reads. */
export const CONTENT_VERSION_FIELDS = [
  'Id',
  'ContentDocumentId',
  'Title',
  'PathOnClient',
  'FileExtension',
  'FileType',
  'ContentSize',
  'Checksum',
  'CreatedDate',
] as const;

function checkId(id: string, what: string): string {
  if (!RECORD_ID.test(id)) throw new Error(`${what} ${JSON.stringify(id)} is not a Salesforce id`);
  return id;
}

/**
 * The next page of files to move: latest versions matching the condition, in
 * Id order after the last one handled (keyset paging: a continuation in
 * another invocation needs no query cursor, which Salesforce expires).
 * `where` must be the output of canonicalWhere; it is parsed again here, so a
 * stored value that was tampered with is refused, not run.
 */
export function contentVersionQuery(where: string, afterId: string | undefined, limit: number): string {
  const condition = canonicalWhere(where);
  const after = afterId === undefined ? '' : ` AND Id > '${checkId(afterId, 'The cursor')}'`;
  return `SELECT ${CONTENT_VERSION_FIELDS.join(', ')} FROM ContentVersion WHERE IsLatest = true AND (${condition})${after} ORDER BY Id LIMIT ${Math.max(1, Math.floor(limit))}`;
}

/** The links of these documents (Salesforce requires a filter on ContentDocumentId or LinkedEntityId for this object). */
export function contentDocumentLinkQuery(documentIds: string[]): string {
  return `SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId IN (${documentIds.map((id) => `'${checkId(id, 'The document id')}'`).join(', ')})`;
}

/** The document's latest version now (to see that nobody uploaded a new one since the copy). */
export function latestVersionQuery(documentId: string): string {
  return `SELECT Id FROM ContentVersion WHERE ContentDocumentId = '${checkId(documentId, 'The document id')}' AND IsLatest = true`;
}

/**
 * Salesforce links every file to its owner (a User, 005) and to the libraries
 * (ContentWorkspace, 058) and groups (CollaborationGroup, 0F9) it is shared
 * with: those are not records a file belongs to, so they get no file record.
 */
export const NON_RECORD_PREFIXES = ['005', '058', '0F9'];

export function isRecordLink(linkedEntityId: string): boolean {
  return !NON_RECORD_PREFIXES.includes(linkedEntityId.slice(0, 3));
}
