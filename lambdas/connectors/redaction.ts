/**
 * Secret redaction: every secret value a wrapper used for a call is replaced
 * by [REDACTED] in what the hub keeps of that call (result, error, logs),
 * because upstreams echo credentials back (a 400 quoting the Authorization
 * header, an OAuth error_description, a URL with its API key).
 */

export const REDACTED = '[REDACTED]';

/** Shorter values are not redacted: replacing every "ab" or "1" would shred the text and hide nothing worth hiding. */
export const MIN_SECRET_LENGTH = 4;

/** A base64 run long enough to hold a secret (Basic credentials, tokens); decoded to look for secrets inside. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

/** The forms a value takes on the wire and in echoes: as is, URL-encoded, form-encoded, JSON-escaped. */
function variants(value: string): string[] {
  const out = new Set<string>([value]);
  out.add(encodeURIComponent(value));
  out.add(new URLSearchParams({ v: value }).toString().slice(2)); // form encoding: spaces as "+", more characters escaped
  out.add(encodeURI(value));
  out.add(JSON.stringify(value).slice(1, -1));
  out.add(JSON.stringify(JSON.stringify(value).slice(1, -1)).slice(1, -1)); // JSON inside JSON text
  return [...out];
}

/** The secret values used by one call, and what their text looks like when echoed. */
export class SecretSet {
  private readonly values = new Set<string>();
  private patterns: string[] | undefined;

  /**
   * Records a value used for the call. A URL secret (a webhook) also records
   * its path and query, and its last path segment, which upstreams quote alone.
   */
  add(value: string | undefined): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.values.has(value)) return;
    this.values.add(value);
    this.patterns = undefined;
    if (/^https?:\/\//i.test(value)) {
      try {
        const url = new URL(value);
        this.add(`${url.pathname}${url.search}`.replace(/^\/$/, ''));
        this.add(url.pathname.split('/').filter(Boolean).at(-1));
      } catch {
        // not a URL after all
      }
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** Every variant of every value, longest first, so a value containing another is replaced whole. */
  private all(): string[] {
    this.patterns ??= [...new Set([...this.values].flatMap(variants))]
      .filter((p) => p.length >= MIN_SECRET_LENGTH)
      .sort((a, b) => b.length - a.length);
    return this.patterns;
  }

  private containsSecret(text: string): boolean {
    return this.all().some((p) => text.includes(p));
  }

  /** The text with every secret (in any of its forms, or base64-encoded within a run such as Basic credentials) replaced. */
  redactText(text: string): string {
    if (this.values.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    let out = text;
    for (const pattern of this.all()) if (out.includes(pattern)) out = out.split(pattern).join(REDACTED);
    // Credentials encoded as base64 (Basic user:password, with the user in front) are found by decoding.
    return out.replace(BASE64_RUN, (run) => {
      const decoded = Buffer.from(run, run.includes('-') || run.includes('_') ? 'base64url' : 'base64').toString(
        'latin1',
      );
      return this.containsSecret(decoded) || this.containsSecret(Buffer.from(decoded, 'latin1').toString('utf8'))
        ? REDACTED
        : run;
    });
  }

  /** A copy of a JSON-like value with every string (keys included) redacted. */
  redactValue<T>(value: T): T {
    if (this.values.size === 0) return value;
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.redactText(v);
      if (v === null || typeof v !== 'object' || depth > 200) return v;
      if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
      if (Buffer.isBuffer(v) || v instanceof Date) return v;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) out[this.redactText(key)] = walk(item, depth + 1);
      return out;
    };
    return walk(value, 0) as T;
  }

  /**
   * Rewrites a thrown error in place (message, stack, and its causes'), so
   * whatever stores or logs it sees no secret. Returns the same error.
   */
  redactError<E>(err: E): E {
    if (this.values.size === 0) return err;
    const seen = new Set<unknown>();
    for (let e: unknown = err; e instanceof Error && !seen.has(e); e = (e as { cause?: unknown }).cause) {
      seen.add(e);
      const target = e as Error & { data?: unknown; body?: unknown };
      try {
        target.message = this.redactText(target.message);
        if (typeof target.stack === 'string') target.stack = this.redactText(target.stack);
        // jsforce and the soap library keep the raw answer on their errors.
        if (target.data !== undefined) target.data = this.redactValue(target.data);
        if (target.body !== undefined) target.body = this.redactValue(target.body);
      } catch {
        // a frozen or exotic error: its causes still get their turn
      }
    }
    return err;
  }
}
