/**
 * A per-process get-or-load cache with a time to live, for what a warm Lambda
 * keeps between invocations (connector rows, OAuth tokens, Salesforce sessions):
 *
 * - a value is served until its TTL has passed (fixed, or taken from the value,
 *   e.g. a token's own lifetime; Infinity keeps it until deleted);
 * - single flight: concurrent callers of one key share one load, so 25 jobs in
 *   flight do not read the same row or request the same token 25 times;
 * - a failed load is not kept: the next caller loads again.
 */
export interface TtlCacheOptions<V> {
  /** How long a loaded value is served, in ms (0 or less: not kept; loads are still shared). */
  ttlMs: number | ((value: V) => number);
  /** Whether a loaded value is kept at all (e.g. not a miss); a value not kept also drops the key's old entry. @default every value */
  keep?: (value: V) => boolean;
  now?: () => number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly loading = new Map<K, Promise<V>>();
  private readonly now: () => number;

  constructor(private readonly options: TtlCacheOptions<V>) {
    this.now = options.now ?? Date.now;
  }

  /** The value of `key`: cached while fresh, else the result of `load` (shared with every caller that asks meanwhile). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && entry.expires > this.now()) return Promise.resolve(entry.value);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load()
        .then((value) => {
          this.store(key, value);
          return value;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Forgets `key`; with `only`, only if its cached value is that one (a refused token another caller has already replaced stays). */
  delete(key: K, only?: (value: V) => boolean): void {
    const entry = this.entries.get(key);
    if (entry && (!only || only(entry.value))) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private store(key: K, value: V): void {
    const { ttlMs, keep } = this.options;
    const ttl = typeof ttlMs === 'function' ? ttlMs(value) : ttlMs;
    if ((keep && !keep(value)) || !(ttl > 0)) this.entries.delete(key);
    else this.entries.set(key, { value, expires: this.now() + ttl });
  }
}
