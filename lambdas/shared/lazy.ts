/**
 * An object built on first use instead of at module load: `build` runs when a
 * property is first read, and the result stands behind the returned proxy for good.
 *
 * For zod schemas held in module constants: building them all costs tens of
 * milliseconds of a cold start (Lambda bills the init phase), while a request
 * needs a few of them, later. The proxy behaves as the built object for zod
 * (property reads, `instanceof`, spreading a shape), and its type is the
 * built object's, so `z.infer<typeof schema>` and callers do not change.
 */
export function lazyObject<T extends object>(build: () => T): T {
  let built: T | undefined;
  const target = () => (built ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(target(), key),
    set: (_, key, value) => Reflect.set(target(), key, value),
    has: (_, key) => Reflect.has(target(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
    ownKeys: () => Reflect.ownKeys(target()),
    // Reported configurable: a proxy may not claim a non-configurable property its own (empty) target lacks.
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
