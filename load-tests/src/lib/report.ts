import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './system.ts';

/** Latency summary of a list of millisecond values (NaN entries = not delivered). */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

export const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

export interface Series {
  name: string;
  color: string;
  /** Milliseconds since the start of the measured step, one per item (NaN = missing). */
  values: number[];
}

const W = 720;
const H = 300;
/** Largest value without spreading the array into arguments (which overflows the stack at ~10⁵). */
const maxOf = (values: number[]) => values.reduce((m, v) => (v > m ? v : m), -Infinity);
const PAD = { left: 60, right: 20, top: 20, bottom: 40 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Tick label with the decimals a small axis needs (0–2 ms still reads as 0.4, 0.8, …). */
const tick = (v: number, max: number) => round(v, max < 10 ? 2 : max < 100 ? 1 : 0);

function axes(xMax: number, yMax: number, xLabel: string, yLabel: string): string {
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  let out = `<line x1="${PAD.left}" y1="${PAD.top + ih}" x2="${PAD.left + iw}" y2="${PAD.top + ih}" stroke="#333"/>`;
  out += `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + ih}" stroke="#333"/>`;
  for (let i = 0; i <= 5; i++) {
    const x = PAD.left + (iw * i) / 5;
    const y = PAD.top + ih - (ih * i) / 5;
    out += `<text x="${x}" y="${PAD.top + ih + 15}" font-size="11" text-anchor="middle">${tick((xMax * i) / 5, xMax)}</text>`;
    out += `<text x="${PAD.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${tick((yMax * i) / 5, yMax)}</text>`;
    out += `<line x1="${PAD.left}" y1="${y}" x2="${PAD.left + iw}" y2="${y}" stroke="#eee"/>`;
  }
  out += `<text x="${PAD.left + iw / 2}" y="${H - 5}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>`;
  out += `<text x="14" y="${PAD.top + ih / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${PAD.top + ih / 2})">${esc(yLabel)}</text>`;
  return out;
}

function legend(series: Series[]): string {
  return series
    .map(
      (s, i) =>
        `<rect x="${W - 220}" y="${PAD.top + i * 16}" width="10" height="10" fill="${s.color}"/>` +
        `<text x="${W - 205}" y="${PAD.top + 9 + i * 16}" font-size="11">${esc(s.name)}</text>`,
    )
    .join('');
}

/** Histogram of the series' values, bars side by side per bin. */
export function histogramSvg(
  series: Series[],
  xLabel: string,
  bins = 40,
  yLabel = 'devices',
): string {
  const all = series.flatMap((s) => s.values.filter((v) => !Number.isNaN(v)));
  const xMax = Math.max(1, maxOf(all));
  const width = xMax / bins;
  const counts = series.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s.values) if (!Number.isNaN(v)) c[Math.min(bins - 1, Math.floor(v / width))]!++;
    return c;
  });
  const yMax = Math.max(1, ...counts.flat());
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const barW = iw / bins / series.length;
  let bars = '';
  counts.forEach((c, si) =>
    c.forEach((n, b) => {
      const h = (ih * n) / yMax;
      bars += `<rect x="${PAD.left + (iw * b) / bins + si * barW}" y="${PAD.top + ih - h}" width="${Math.max(0.5, barW - 0.5)}" height="${h}" fill="${series[si]!.color}"/>`;
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axes(xMax, yMax, xLabel, yLabel)}${bars}${legend(series)}</svg>`;
}

/** Cumulative count over time: how many items had happened x ms after the start. */
export function cumulativeSvg(series: Series[], xLabel: string, yLabel: string): string {
  const all = series.flatMap((s) => s.values.filter((v) => !Number.isNaN(v)));
  const xMax = Math.max(1, maxOf(all));
  const yMax = Math.max(1, ...series.map((s) => s.values.length));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const lines = series
    .map((s) => {
      const sorted = s.values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
      const step = Math.max(1, Math.floor(sorted.length / 400));
      const points = [`${PAD.left},${PAD.top + ih}`];
      for (let i = 0; i < sorted.length; i += step) {
        points.push(
          `${PAD.left + (iw * sorted[i]!) / xMax},${PAD.top + ih - (ih * (i + 1)) / yMax}`,
        );
      }
      if (sorted.length > 0) {
        points.push(
          `${PAD.left + (iw * sorted.at(-1)!) / xMax},${PAD.top + ih - (ih * sorted.length) / yMax}`,
        );
      }
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points.join(' ')}"/>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axes(xMax, yMax, xLabel, yLabel)}${lines}${legend(series)}</svg>`;
}

export interface Target {
  value: number | null;
  limit: number;
  unit: string;
  met: boolean;
}

/** Writes `load-tests/reports/<scenario>-<timestamp>.{json,html}`; returns both paths. */
export function writeReport(
  scenario: string,
  result: Record<string, unknown> & { targets: Record<string, Target> },
  figures: Array<{ title: string; svg: string }>,
): { json: string; html: string } {
  const dir = join(repoRoot, 'load-tests/reports');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = join(dir, `${scenario}-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const rows = Object.entries(result.targets)
    .map(
      ([name, t]) =>
        `<tr><td>${esc(name)}</td><td>${t.value === null ? '–' : round(t.value, 2)} ${esc(t.unit)}</td><td>${t.limit} ${esc(t.unit)}</td>` +
        `<td style="color:${t.met ? '#1a7f37' : '#cf222e'}">${t.met ? 'met' : 'MISSED'}</td></tr>`,
    )
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(scenario)} — Trupp benchmark</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:900px}td,th{padding:2px 10px;text-align:left}
pre{background:#f6f8fa;padding:1em;overflow:auto}</style></head><body>
<h1>${esc(scenario)}</h1><p>${esc(String(result.started_at ?? ''))} · ${esc(JSON.stringify(result.params))}</p>
<h2>Targets</h2><table><tr><th>target</th><th>measured</th><th>limit</th><th></th></tr>${rows}</table>
${figures.map((f) => `<h2>${esc(f.title)}</h2>${f.svg}`).join('\n')}
<h2>Raw result</h2><pre>${esc(JSON.stringify(result, null, 2))}</pre>
</body></html>
`;
  writeFileSync(`${base}.html`, html);
  return { json: `${base}.json`, html: `${base}.html` };
}
