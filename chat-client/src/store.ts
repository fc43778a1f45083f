/**
 * Where the client keeps its private state: key-value bytes. The web app encrypts the
 * values under the app lock before they reach IndexedDB; tests keep them in memory.
 */
export interface ChatStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`. */
  keys(prefix: string): Promise<string[]>;
}

export class MemoryChatStore implements ChatStore {
  readonly #values = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.#values.get(key);
    // Copies so a caller cannot change what is stored by mutating the array it got.
    return value === undefined ? undefined : value.slice();
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#values.set(key, value.slice());
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.#values.keys()].filter((key) => key.startsWith(prefix));
  }

  /** A copy of everything, e.g. to restore a device as it was at some moment. */
  snapshot(): MemoryChatStore {
    const copy = new MemoryChatStore();
    for (const [key, value] of this.#values) copy.#values.set(key, value.slice());
    return copy;
  }
}
