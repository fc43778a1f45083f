import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { DEFAULT_DATABASE_SERVER, repoRoot } from './lib/system.ts';
import { alarmFanout } from './scenarios/alarm-fanout.ts';
import { runSfuScenario, SFU_SCENARIOS, SFU_USAGE } from './sfu-cli.ts';
import { POSITIONS_USAGE, runPositionsCli } from './positions-cli.ts';
import { PTT_USAGE, runPttCli } from './ptt-cli.ts';
import { CHAT_USAGE, runChatCli } from './chat-cli.ts';

/**
 * `npm run bench -- <scenario> [options]` (see load-tests/README.md and BENCH.md).
 * Logs and progress go to stderr; with --json stdout carries exactly one JSON object.
 */
const USAGE = `usage: npm run bench -- alarm-fanout [--devices 10000] [--swarm 4] [--json]
         [--url http://host:port --database-url mysql://… [--server-pid PID]]
         [--database-server mysql://root@127.0.0.1:3306/] [--timeout-ms 30000] [--cpu-prof]
${SFU_USAGE}
${POSITIONS_USAGE}
${PTT_USAGE}
${CHAT_USAGE}`;

// The SFU scenarios have options of their own (sfu-cli.ts).
if (SFU_SCENARIOS.includes(process.argv[2] ?? '')) {
  await runSfuScenario(process.argv.slice(2));
  process.exit(0);
}
if (process.argv[2] === 'ptt-floor') {
  await runPttCli(process.argv.slice(2));
  process.exit(0);
}
if (process.argv[2] === 'chat') {
  await runChatCli(process.argv.slice(2));
  process.exit(0);
}
if (process.argv[2] === 'positions') {
  await runPositionsCli(process.argv.slice(2));
  process.exit(0);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    devices: { type: 'string', default: '1000' },
    swarm: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    url: { type: 'string' },
    'database-url': { type: 'string' },
    'server-pid': { type: 'string' },
    'database-server': { type: 'string', default: DEFAULT_DATABASE_SERVER },
    'timeout-ms': { type: 'string', default: '30000' },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const whole = (name: string, raw: string | undefined, min: number): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`--${name} must be a whole number ≥ ${min}\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
};

const scenario = positionals[0];
if (values.help || scenario !== 'alarm-fanout') {
  process.stderr.write(
    `${scenario && !values.help ? `unknown scenario "${scenario}"\n` : ''}${USAGE}\n`,
  );
  process.exit(values.help ? 0 : 2);
}

const result = await alarmFanout(
  {
    devices: whole('devices', values.devices, 1),
    swarm: whole('swarm', values.swarm, 1),
    url: values.url ?? null,
    databaseUrl: values['database-url'] ?? null,
    serverPid: values['server-pid'] ? whole('server-pid', values['server-pid'], 1) : null,
    databaseServer: values['database-server']!,
    timeoutMs: whole('timeout-ms', values['timeout-ms'], 1000),
    cpuProfDir: values['cpu-prof'] ? join(repoRoot, 'load-tests/reports/profiles') : null,
  },
  log,
);

if (values.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const r = result as Record<string, unknown> & {
    targets: Record<string, { value: number | null; limit: number; unit: string; met: boolean }>;
    acks: { all_acked_ms: number; per_s: number };
    responses: { answered: number; all_done_ms: number; per_s: number };
    report: { json: string; html: string };
  };
  const out = [
    `alarm-fanout · ${r.expected} devices`,
    `  delivered        ${r.delivered}/${r.expected}`,
    `  latency          p50 ${r.p50_ms} · p95 ${r.p95_ms} · p99 ${r.p99_ms} · max ${r.max_ms} ms (HTTP answer ${r.http_answer_ms} ms)`,
    `  raw ws baseline  p50 ${r.baseline_p50_ms} · p95 ${r.baseline_p95_ms} · p99 ${r.baseline_p99_ms} · max ${r.baseline_max_ms} ms  → ratio p99 ${r.ratio_p99}×`,
    `  acks             all acknowledged after ${r.acks.all_acked_ms} ms (${r.acks.per_s}/s)`,
    `  responses        ${r.responses.answered} in ${r.responses.all_done_ms} ms (${r.responses.per_s}/s)`,
    `  server           RSS ${r.server_rss_mb} MB, ${r.rss_per_connection_kb} KB per idle connection (raw ws: ${r.baseline_rss_per_connection_kb} KB), CPU ${r.server_cpu_s} s`,
    '  targets:',
    ...Object.entries(r.targets).map(
      ([name, t]) =>
        `    ${t.met ? 'PASS' : 'FAIL'}  ${name.padEnd(22)} ${t.value ?? '–'} ${t.unit} (limit ${t.limit} ${t.unit})`,
    ),
    `  report           ${r.report.html}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
process.exit(0);
