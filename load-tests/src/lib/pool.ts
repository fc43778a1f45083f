import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';

/**
 * Load-generator processes driven over IPC: the parent sends commands, each carrying an
 * `id` that the child's reply repeats; a child may also report progress. Messages use
 * structured-clone serialization, so typed arrays and NaN cross intact. A child that
 * exits fails every command waiting on it instead of hanging the run.
 *
 * The child side is `serveParent`. (`swarm/pool.ts` and the ptt-floor bench predate
 * this and keep their own copies.) Inside a child, `startTsThread` and `PortChannel`
 * move work that would stall its event loop (e.g. cryptography next to thousands of
 * socket messages a second) to a thread.
 */
type Envelope = { id: number };
type Reply = { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };
type Progress = { progress: number };

export class ProcessPool<Command extends { cmd: string }> {
  readonly #children: ChildProcess[] = [];
  readonly #pending = new Map<
    number,
    { child: number; resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  readonly #progress: number[] = [];
  #next = 1;

  /** @param script the child's module, e.g. `new URL('../chat/worker.ts', import.meta.url)` */
  constructor(script: URL, size: number) {
    for (let i = 0; i < size; i++) {
      // execArgv is inherited, so the child runs TypeScript through tsx like the bench.
      const child = fork(fileURLToPath(script), [], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      child.on('message', (message: Reply | Progress) => {
        if ('progress' in message) {
          this.#progress[i] = message.progress;
          return;
        }
        const waiter = this.#pending.get(message.id);
        if (!waiter) return;
        this.#pending.delete(message.id);
        if (message.ok) waiter.resolve(message.data);
        else waiter.reject(new Error(`process ${i}: ${message.error}`));
      });
      child.on('exit', (code, signal) => {
        for (const [id, waiter] of this.#pending) {
          if (waiter.child !== i) continue;
          this.#pending.delete(id);
          waiter.reject(new Error(`process ${i} exited (${signal ?? code})`));
        }
      });
      this.#children.push(child);
    }
  }

  get size(): number {
    return this.#children.length;
  }

  /** Sum of the progress the children reported since the last `all`. */
  get progress(): number {
    return this.#progress.reduce((a, b) => a + (b ?? 0), 0);
  }

  pids(): number[] {
    return this.#children.map((c) => c.pid!);
  }

  ask<T>(i: number, command: Command): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { child: i, resolve: resolve as (v: unknown) => void, reject });
      this.#children[i]!.send({ ...command, id } satisfies Command & Envelope);
    });
  }

  /** One command per child (built per index), all replies in child order. */
  all<T>(command: (i: number) => Command): Promise<T[]> {
    this.#progress.length = 0;
    return Promise.all(this.#children.map((_, i) => this.ask<T>(i, command(i))));
  }

  close(): void {
    for (const child of this.#children) child.kill();
  }
}

/**
 * The child side of `ProcessPool`: answers every command with `handle`'s result (or its
 * error as text) and exits when the parent goes away.
 */
export function serveParent<Command extends { cmd: string }>(
  handle: (command: Command) => Promise<unknown>,
): void {
  process.on('message', (message: Command & Envelope) => {
    handle(message).then(
      (data) => process.send!({ id: message.id, ok: true, data } satisfies Reply),
      (error: unknown) =>
        process.send!({
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Tells the parent how far a long command got (shown in its progress line). */
export function reportProgress(progress: number): void {
  process.send?.({ progress } satisfies Progress);
}

/**
 * Starts a worker thread running a TypeScript module. A thread does not inherit the
 * `--import tsx` hooks of its process, so a small bootstrap registers them first; tsx is
 * resolved here, not from the thread's working directory.
 */
export function startTsThread(script: URL): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`,
    { eval: true },
  );
}

/** An error carrying a code across a channel (ChatClient decides on `code`, e.g. retries). */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type ChannelMessage =
  | { kind: 'call'; id: number; body: unknown }
  | { kind: 'reply'; id: number; ok: true; data: unknown }
  | { kind: 'reply'; id: number; ok: false; code: string | null; message: string }
  | { kind: 'event'; body: unknown };

/**
 * Calls and one-way events in both directions between a thread and its parent. A call
 * resolves with what the other side's handler returned, or rejects with its error as a
 * `CodedError` when the error had a string `code`.
 */
export class PortChannel<OutCall, OutEvent, InCall, InEvent> {
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #next = 1;

  constructor(
    private readonly port: MessagePort | Worker,
    handlers: { call(body: InCall): Promise<unknown>; event(body: InEvent): void },
  ) {
    port.on('message', (message: ChannelMessage) => {
      if (message.kind === 'event') return handlers.event(message.body as InEvent);
      if (message.kind === 'call') {
        handlers.call(message.body as InCall).then(
          (data) => port.postMessage({ kind: 'reply', id: message.id, ok: true, data }),
          (error: unknown) => {
            const code = (error as { code?: unknown } | null)?.code;
            port.postMessage({
              kind: 'reply',
              id: message.id,
              ok: false,
              code: typeof code === 'string' ? code : null,
              message:
                error instanceof Error
                  ? typeof code === 'string'
                    ? error.message
                    : (error.stack ?? error.message)
                  : String(error),
            });
          },
        );
        return;
      }
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.ok) waiter.resolve(message.data);
      else
        waiter.reject(
          message.code === null
            ? new Error(message.message)
            : new CodedError(message.code, message.message),
        );
    });
  }

  call<T>(body: OutCall): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ kind: 'call', id, body } satisfies ChannelMessage);
    });
  }

  emit(body: OutEvent): void {
    this.port.postMessage({ kind: 'event', body } satisfies ChannelMessage);
  }
}
