/**
 * The few browser globals api.ts and live.ts read (location, localStorage), for Vitest's node
 * environment. Storage keeps its items in a Map, as the browser's does per origin.
 */
class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
}

/** Points location at `origin` and gives the page an empty localStorage. */
export function installBrowserGlobals(origin: string): Storage {
  const url = new URL(origin);
  const storage = new MemoryStorage();
  Object.assign(globalThis, {
    location: { origin: url.origin, protocol: url.protocol, host: url.host, href: url.href },
    localStorage: storage,
  });
  return storage;
}
