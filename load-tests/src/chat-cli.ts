import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { targetLines } from './lib/harness.ts';
import type { Target } from './lib/report.ts';
import { DEFAULT_DATABASE_SERVER, repoRoot } from './lib/system.ts';
import { chat } from './scenarios/chat.ts';

/**
 * Options and output of the `chat` benchmark, parsed here so cli.ts only dispatches to
 * it. Logs go to stderr; `--json` prints exactly one JSON object on stdout.
 */
export const CHAT_USAGE = `       npm run bench -- chat [--group 50] [--rate 200] [--seconds 20] [--warmup 3]
         [--decrypt 2] [--procs 2] [--json] [--cpu-prof]
         [--url http://host:port --database-url mysql://… [--server-pid PID]]`;

export async function runChatCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      group: { type: 'string', default: '50' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      decrypt: { type: 'string', default: '2' },
      procs: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      'database-url': { type: 'string' },
      'server-pid': { type: 'string' },
      'database-server': { type: 'string', default: DEFAULT_DATABASE_SERVER },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n${CHAT_USAGE}\n`);
    process.exit(2);
  };
  const whole = (name: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) fail(`--${name} must be a whole number ≥ ${min}`);
    return value;
  };
  const group = whole('group', values.group, 2);
  const decrypt = whole('decrypt', values.decrypt, 0);
  // The decrypting devices only receive, so at least one other device must send.
  if (decrypt >= group) fail('--decrypt must be smaller than --group');
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0) fail('--rate must be a positive number');

  const result = await chat(
    {
      group,
      rate,
      seconds: whole('seconds', values.seconds, 1),
      warmupS: whole('warmup', values.warmup, 0),
      decrypt,
      procs: whole('procs', values.procs, 1),
      url: values.url ?? null,
      databaseUrl: values['database-url'] ?? null,
      serverPid: values['server-pid'] ? whole('server-pid', values['server-pid'], 1) : null,
      databaseServer: values['database-server']!,
      cpuProfDir: values['cpu-prof'] ? join(repoRoot, 'load-tests/reports/profiles') : null,
    },
    log,
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const r = result as Record<string, unknown> & {
    params: { group: number; rate: number; senders: number; payload_chars: number };
    sends: {
      planned: number;
      acknowledged: number;
      failed: number;
      epoch_stale: number;
      epoch_prepared: number;
      epoch_after_run: number;
      stored_in_database: number;
    };
    encrypt: { messages: number; p50_ms: number; p99_ms: number; seconds: number };
    decrypt: {
      devices: number;
      decrypted: number;
      expected: number;
      garbled: number;
      misplaced: number;
      arrival_p99_ms: number;
    };
    setup: Record<string, number>;
    notes: string[];
    targets: Record<string, Target>;
    report: { html: string };
  };
  const out = [
    `chat · group of ${r.params.group}, ${r.params.rate} messages/s from ${r.params.senders} senders, ciphertext ${r.params.payload_chars} base64 chars`,
    `  encrypted ahead  ${r.encrypt.messages} messages in ${r.encrypt.seconds} s, p50 ${r.encrypt.p50_ms} · p99 ${r.encrypt.p99_ms} ms per message, at epoch ${r.sends.epoch_prepared} (after the run ${r.sends.epoch_after_run})`,
    `  sends            ${r.sends.acknowledged}/${r.sends.planned} acknowledged, ${r.sends.failed} failed (${r.sends.epoch_stale} stale epoch), ${r.sends.stored_in_database} in the database`,
    `  send rate        schedule ${r.generator_rate} msg/s (lag p99 ${r.generator_lag_p99_ms} ms), on the wire ${r.send_rate_achieved} msg/s, limited by: ${r.send_rate_limited_by} (device waiting for its previous ack p99 ${r.device_wait_p99_ms} ms, hand-off to the socket p99 ${r.handoff_p99_ms} ms)`,
    `  delivered        ${r.delivered}/${r.expected} (missing ${r.lost}, duplicates ${r.duplicates})`,
    `  send → socket    p50 ${r.p50_ms} · p95 ${r.p95_ms} · p99 ${r.p99_ms} · max ${r.max_ms} ms (ack p50 ${r.ack_p50_ms} · p99 ${r.ack_p99_ms} ms; from due p99 ${r.from_due_p99_ms} ms)`,
    `  plain relay      p50 ${r.baseline_p50_ms} · p95 ${r.baseline_p95_ms} · p99 ${r.baseline_p99_ms} · max ${r.baseline_max_ms} ms → ratio p99 ${r.ratio_p99}×`,
    `  decrypted (${r.decrypt.devices})    p50 ${r.decrypt_p50_ms} · p99 ${r.decrypt_p99_ms} ms (their socket arrival p99 ${r.decrypt.arrival_p99_ms} ms); ${r.decrypt.decrypted}/${r.decrypt.expected}, ${r.decrypt.garbled} garbled, ${r.decrypt.misplaced} misplaced`,
    `  throughput       ${r.throughput_per_s} messages/s stored, ${r.deliveries_per_s} deliveries/s`,
    `  server           CPU ${r.server_cpu_s} s (${r.server_cpu_cores} cores), RSS ${r.server_rss_mb} MB; load generator ${JSON.stringify(r.generator_cpu_cores)} cores per process`,
    `  MariaDB          per message (server-wide counters): ${JSON.stringify(r.innodb_server_wide)}`,
    `  setup            ${JSON.stringify(r.setup)}`,
    ...r.notes.map((n) => `  NOTE             ${n}`),
    '  targets:',
    ...targetLines(r.targets),
    `  report           ${r.report.html}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
