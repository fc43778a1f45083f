import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs } from './device.ts';
import { round, type Target } from './report.ts';
import {
  cpuSeconds,
  rssBytes,
  scratchDatabase,
  startBackend,
  type BackendProcess,
  type ScratchDatabase,
} from './system.ts';

/**
 * What every scenario does around its measurement: get a system to test (a fresh one or
 * `--url`), start baseline servers, sample the server's CPU and memory, and judge targets.
 */
export type Log = (line: string) => void;

export interface SystemOptions {
  /** A running deployment; without it a server is started on a fresh database. */
  url: string | null;
  /** That deployment's database (the bench seeds into it). */
  databaseUrl: string | null;
  serverPid: number | null;
  databaseServer: string;
  /** Write a V8 CPU profile of the started server to this directory. */
  cpuProfDir: string | null;
  /** Extra environment for a started server. */
  env?: Record<string, string>;
}

export interface SystemUnderTest {
  url: string;
  databaseUrl: string;
  /** The server process when known (started here, or `--server-pid`). */
  pid: number | null;
  /** The end of a started server's output (empty for `--url`), for failures. */
  output(): string;
  /** Races `step` against the started server dying, which fails the run with its output. */
  alive<T>(step: Promise<T>): Promise<T>;
  /** Stops a started server and drops its database (idempotent; nothing for `--url`). */
  close(): Promise<void>;
}

/**
 * @throws when `--url` comes without `--database-url`, or the server does not start.
 */
export async function openSystem(options: SystemOptions, log: Log): Promise<SystemUnderTest> {
  if (options.url) {
    if (!options.databaseUrl) throw new Error('--url needs --database-url (the bench seeds it)');
    return {
      url: options.url.replace(/\/$/, ''),
      databaseUrl: options.databaseUrl,
      pid: options.serverPid,
      output: () => '',
      alive: (step) => step,
      close: async () => undefined,
    };
  }
  const db: ScratchDatabase = scratchDatabase(options.databaseServer, 'trupp_bench');
  log(`starting the server on database ${db.name}`);
  let server: BackendProcess;
  try {
    server = await startBackend({
      databaseUrl: db.url,
      nodeArgs: options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
      ...(options.env ? { env: options.env } : {}),
    });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const died = server.exited.then((code) => {
    throw new Error(
      `the server exited (${code ?? 'killed'}):\n${server.stderr().slice(-4000)}${server.stdout().slice(-4000)}`,
    );
  });
  died.catch(() => undefined);
  return {
    url: server.url,
    databaseUrl: db.url,
    pid: server.pid,
    output: () => `${server.stderr().slice(-4000)}${server.stdout().slice(-4000)}`,
    alive: (step) => Promise.race([step, died]),
    async close() {
      await server.stop();
      await db.drop();
    },
  };
}

/**
 * Forks a helper server (a baseline relay) that prints its port on stdout once listening.
 *
 * @throws when the process exits before printing its port.
 */
export async function forkListening(
  script: URL,
): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = fork(fileURLToPath(script), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${script.pathname} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

export interface ProcessSample {
  /** Seconds since `start()`. */
  second: number;
  /** CPU cores used over the second (user + system), null when unreadable. */
  cpuCores: number | null;
  rssMb: number | null;
}

/** CPU and RSS of one process, sampled once a second between `start()` and `stop()`. */
export class ProcessSampler {
  readonly samples: ProcessSample[] = [];
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #cpuAtStart: number | null = null;
  #last = { at: 0, cpu: null as number | null };

  constructor(readonly pid: number | null) {}

  start(): void {
    this.#startedAt = nowMs();
    this.#cpuAtStart = this.pid === null ? null : cpuSeconds(this.pid);
    this.#last = { at: this.#startedAt, cpu: this.#cpuAtStart };
    this.#timer = setInterval(() => this.#sample(), 1_000);
  }

  /** Stops sampling; CPU seconds and mean cores over the whole span. */
  stop(): { cpuS: number | null; cores: number | null; rssMb: number | null } {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const cpu = this.pid === null ? null : cpuSeconds(this.pid);
    const rss = this.pid === null ? null : rssBytes(this.pid);
    const cpuS = cpu === null || this.#cpuAtStart === null ? null : cpu - this.#cpuAtStart;
    const span = (nowMs() - this.#startedAt) / 1000;
    return {
      cpuS: cpuS === null ? null : round(cpuS, 2),
      cores: cpuS === null || span <= 0 ? null : round(cpuS / span, 2),
      rssMb: rss === null ? null : round(rss / 2 ** 20),
    };
  }

  #sample(): void {
    const at = nowMs();
    const cpu = this.pid === null ? null : cpuSeconds(this.pid);
    const rss = this.pid === null ? null : rssBytes(this.pid);
    const dt = (at - this.#last.at) / 1000;
    this.samples.push({
      second: Math.round((at - this.#startedAt) / 1000),
      cpuCores:
        cpu === null || this.#last.cpu === null || dt <= 0
          ? null
          : round((cpu - this.#last.cpu) / dt, 2),
      rssMb: rss === null ? null : round(rss / 2 ** 20),
    });
    this.#last = { at, cpu };
  }
}

/** A target judged on a measured value (null/NaN = not measured = missed). */
export function target(value: number | null, limit: number, unit: string, atLeast = false): Target {
  const measured = value !== null && Number.isFinite(value);
  return {
    value: measured ? round(value, 2) : null,
    limit,
    unit,
    met: measured && (atLeast ? value >= limit : value <= limit),
  };
}

/** The text summary's PASS/FAIL lines. */
export function targetLines(targets: Record<string, Target>): string[] {
  return Object.entries(targets).map(
    ([name, t]) =>
      `    ${t.met ? 'PASS' : 'FAIL'}  ${name.padEnd(22)} ${t.value ?? '–'} ${t.unit} (limit ${t.limit} ${t.unit})`,
  );
}
