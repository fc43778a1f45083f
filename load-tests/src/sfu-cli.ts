import { parseArgs } from 'node:util';
import { lateEntry } from './scenarios/late-entry.ts';
import { sfuForward } from './scenarios/sfu-forward.ts';
import type { Target } from './lib/report.ts';

/**
 * Options and output of the SFU benchmarks (`sfu-forward`, `late-entry`), parsed here so
 * cli.ts only dispatches to them. Logs go to stderr; `--json` prints one JSON object.
 */
export const SFU_SCENARIOS = ['sfu-forward', 'late-entry'];

export const SFU_USAGE = `       npm run bench -- sfu-forward [--listeners 100,250,500,1000,1500,2000] [--seconds 5]
         [--receivers 2] [--payload-bytes 80] [--stop-loss-pct 10] [--json]
       npm run bench -- late-entry [--joins 200] [--gap-ms 60] [--json]
       (both: [--sfu-url ws://127.0.0.1:4080/sfu/v1 --sfu-secret …] to measure a running SFU)`;

export async function runSfuScenario(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      listeners: { type: 'string', default: '100,250,500,1000,1500,2000' },
      seconds: { type: 'string', default: '5' },
      receivers: { type: 'string', default: '2' },
      'payload-bytes': { type: 'string', default: '80' },
      'stop-loss-pct': { type: 'string', default: '10' },
      joins: { type: 'string', default: '200' },
      'gap-ms': { type: 'string', default: '60' },
      'sfu-url': { type: 'string' },
      'sfu-secret': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const number = (name: string, raw: string | undefined, min: number, integer = true): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
      process.stderr.write(
        `--${name} must be a ${integer ? 'whole ' : ''}number ≥ ${min}\n${SFU_USAGE}\n`,
      );
      process.exit(2);
    }
    return value;
  };
  const scenario = positionals[0];
  const sfuUrl = values['sfu-url'] ?? null;
  const sfuSecret = values['sfu-secret'] ?? null;

  const result =
    scenario === 'sfu-forward'
      ? await sfuForward(
          {
            listeners: values.listeners!.split(',').map((v) => number('listeners', v.trim(), 1)),
            seconds: number('seconds', values.seconds, 1, false),
            receivers: number('receivers', values.receivers, 1),
            payloadBytes: number('payload-bytes', values['payload-bytes'], 13),
            stopLossPct: number('stop-loss-pct', values['stop-loss-pct'], 0, false),
            sfuUrl,
            sfuSecret,
          },
          log,
        )
      : await lateEntry(
          {
            joins: number('joins', values.joins, 1),
            gapMs: number('gap-ms', values['gap-ms'], 0),
            sfuUrl,
            sfuSecret,
          },
          log,
        );

  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const r = result as Record<string, unknown> & {
    targets: Record<string, Target>;
    report: { html: string };
  };
  const lines = [`${scenario}`];
  if (scenario === 'sfu-forward') {
    const steps = r.steps as Array<{
      listeners: number;
      sfu: {
        p50: number;
        p99: number;
        loss_pct: number;
        forwarder_cpu_pct: number | null;
        receivers_cpu_pct: number | null;
      };
      relay: { p50: number; p99: number; loss_pct: number; forwarder_cpu_pct: number | null };
      added_p99_ms: number;
    }>;
    lines.push(
      '  listeners │ SFU p50/p99 ms, loss %, worker CPU % │ relay p50/p99 ms, loss %, CPU % │ added p99 │ receivers CPU %',
    );
    for (const s of steps) {
      lines.push(
        `  ${String(s.listeners).padStart(9)} │ ${s.sfu.p50} / ${s.sfu.p99}, ${s.sfu.loss_pct} %, ${s.sfu.forwarder_cpu_pct} % │ ${s.relay.p50} / ${s.relay.p99}, ${s.relay.loss_pct} %, ${s.relay.forwarder_cpu_pct} % │ ${s.added_p99_ms} ms │ ${s.sfu.receivers_cpu_pct} %`,
      );
    }
    lines.push(`  sustained  ${r.sustained_listeners} listeners with < 1 % loss on one worker`);
  } else {
    lines.push(
      `  join → first packet  p50 ${r.p50_ms} · p95 ${r.p95_ms} · p99 ${r.p99_ms} · max ${r.max_ms} ms (${r.delivered}/${r.expected})`,
      `  raw relay baseline   p50 ${r.baseline_p50_ms} · p99 ${r.baseline_p99_ms} ms → ratio p99 ${r.ratio_p99}×`,
      `  control API calls    ${JSON.stringify(r.control_api)}`,
    );
  }
  lines.push(
    '  targets:',
    ...Object.entries(r.targets).map(
      ([name, t]) =>
        `    ${t.met ? 'PASS' : 'FAIL'}  ${name.padEnd(22)} ${t.value ?? '–'} ${t.unit} (limit ${t.limit} ${t.unit})`,
    ),
    `  report   ${r.report.html}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
