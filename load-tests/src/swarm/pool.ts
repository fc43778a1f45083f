import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SwarmReply, SwarmRequest } from './protocol.ts';

type Command = SwarmRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

/**
 * The swarm: several processes sharing the devices, so the clients' own receive loop
 * (part of any measured latency) is spread over processes, as BENCH.md asks.
 */
export class Swarm {
  readonly #workers: ChildProcess[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;
  /** Devices handled so far in the current `connect`, over all processes. */
  #progress: number[] = [];

  constructor(size: number) {
    const script = fileURLToPath(new URL('./worker.ts', import.meta.url));
    for (let i = 0; i < size; i++) {
      // execArgv is inherited, so the worker runs TypeScript through tsx like the bench.
      const worker = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      worker.on('message', (reply: SwarmReply) => {
        if ('progress' in reply) {
          this.#progress[i] = reply.progress;
          return;
        }
        const waiter = this.#pending.get(reply.id);
        if (!waiter) return;
        this.#pending.delete(reply.id);
        if (reply.ok) waiter.resolve(reply.data);
        else waiter.reject(new Error(reply.error));
      });
      this.#workers.push(worker);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  get progress(): number {
    return this.#progress.reduce((a, b) => a + b, 0);
  }

  /** Sends one command to worker `i`. */
  ask<T>(i: number, command: Command): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#workers[i]!.send({ ...command, id });
    });
  }

  /** Sends a command to every worker (built per worker) and waits for all replies. */
  all<T>(command: (i: number) => Command): Promise<T[]> {
    this.#progress = [];
    return Promise.all(this.#workers.map((_, i) => this.ask<T>(i, command(i))));
  }

  /** Splits `items` into one contiguous share per worker. */
  shares<T>(items: T[]): T[][] {
    const size = Math.ceil(items.length / this.#workers.length);
    return this.#workers.map((_, i) => items.slice(i * size, (i + 1) * size));
  }

  close(): void {
    for (const worker of this.#workers) worker.kill();
  }
}
