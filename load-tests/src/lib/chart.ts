import { round } from './report.ts';

/**
 * A line chart over a numeric x axis (e.g. listeners per step), for the SFU benchmarks'
 * reports: inline SVG like report.ts, each series with its own colour; NaN/null points
 * are skipped.
 */
export interface LineSeries {
  name: string;
  color: string;
  values: Array<number | null>;
  /** Draw against the right-hand axis (e.g. a percentage next to milliseconds). */
  right?: boolean;
}

const W = 720;
const H = 300;
const PAD = { left: 60, right: 60, top: 20, bottom: 40 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChartSvg(
  xs: number[],
  series: LineSeries[],
  labels: { x: string; left: string; right?: string },
): string {
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const finite = (values: Array<number | null>) =>
    values.filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = (right: boolean) =>
    Math.max(
      1,
      ...series.filter((s) => Boolean(s.right) === right).flatMap((s) => finite(s.values)),
    ) * 1.1;
  const leftMax = yMax(false);
  const rightMax = yMax(true);
  const xMin = Math.min(...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const x = (v: number) => PAD.left + (iw * (v - xMin)) / (xMax - xMin);
  const y = (v: number, right: boolean) => PAD.top + ih - (ih * v) / (right ? rightMax : leftMax);
  let out = `<line x1="${PAD.left}" y1="${PAD.top + ih}" x2="${PAD.left + iw}" y2="${PAD.top + ih}" stroke="#333"/>`;
  out += `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + ih}" stroke="#333"/>`;
  for (let i = 0; i <= 5; i += 1) {
    const yy = PAD.top + ih - (ih * i) / 5;
    out += `<line x1="${PAD.left}" y1="${yy}" x2="${PAD.left + iw}" y2="${yy}" stroke="#eee"/>`;
    out += `<text x="${PAD.left - 6}" y="${yy + 4}" font-size="11" text-anchor="end">${round((leftMax * i) / 5, 1)}</text>`;
    if (labels.right) {
      out += `<text x="${PAD.left + iw + 6}" y="${yy + 4}" font-size="11">${round((rightMax * i) / 5, 1)}</text>`;
    }
  }
  for (const v of xs) {
    out += `<text x="${x(v)}" y="${PAD.top + ih + 15}" font-size="11" text-anchor="middle">${v}</text>`;
  }
  out += `<text x="${PAD.left + iw / 2}" y="${H - 5}" font-size="12" text-anchor="middle">${esc(labels.x)}</text>`;
  out += `<text x="14" y="${PAD.top + ih / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${PAD.top + ih / 2})">${esc(labels.left)}</text>`;
  if (labels.right) {
    out += `<text x="${W - 8}" y="${PAD.top + ih / 2}" font-size="12" text-anchor="middle" transform="rotate(90 ${W - 8} ${PAD.top + ih / 2})">${esc(labels.right)}</text>`;
  }
  series.forEach((s, si) => {
    const points = xs
      .map((xv, i) => [xv, s.values[i]] as const)
      .filter((p): p is readonly [number, number] => p[1] !== null && Number.isFinite(p[1]))
      .map(([xv, yv]) => `${x(xv)},${y(yv, Boolean(s.right))}`);
    out += `<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.right ? 'stroke-dasharray="5,3"' : ''} points="${points.join(' ')}"/>`;
    for (const p of points) {
      const [px, py] = p.split(',');
      out += `<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`;
    }
    out += `<rect x="${PAD.left + 10}" y="${PAD.top + si * 16}" width="10" height="10" fill="${s.color}"/>`;
    out += `<text x="${PAD.left + 25}" y="${PAD.top + 9 + si * 16}" font-size="11">${esc(s.name)}${s.right ? ' (right axis)' : ''}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${out}</svg>`;
}
