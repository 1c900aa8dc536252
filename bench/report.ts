/** Turning measurements into the results table, the targets table, latest.md/.json and a hand-drawn SVG chart. */
import type { Measure } from './load.js';

export interface Row extends Measure {
  workload: string;
  title: string;
  server: string;
  connections: number;
  /** Peak RSS of the server's process tree during the measured run. */
  peakRssMb: number;
  /** Cores busy with processes the bench did not start, on average during the measured run. */
  otherLoad: number;
}

export interface MemoryResult {
  server: string;
  burst: { connections: number; requests: number; errors: number; errorDetail: string; peakRssMb: number; title: string };
  mixed: { connections: number; requests: number; errors: number; errorDetail: string; reqPerSec: number; title: string; rssAfterWarmupMb: number; rssAfterMb: number };
  /** Highest RSS seen over all of W5. */
  peakRssMb: number;
}

export interface Target {
  name: string;
  measured: string;
  goal: string;
  /** null when an input is missing (e.g. FastAPI could not be installed). */
  pass: boolean | null;
}

export interface Report {
  date: string;
  totalSeconds: number;
  machine: Record<string, string>;
  settings: Record<string, string>;
  rows: Row[];
  memory: MemoryResult | null;
  targets: Target[];
  notes: string[];
}

export const servers = {
  pixelpress: 'pixelpress',
  floor: 'floor (in-process sharp, no HTTP)',
  fastapi1: 'fastapi (1 worker)',
  fastapi2: 'fastapi (2 workers)',
} as const;

const fixed = (value: number, digits: number) => value.toFixed(digits);
const rate = (value: number) => fixed(value, value < 10 ? 2 : 1);
const ms = (value: number) => fixed(value, value < 100 ? 1 : 0);
const mb = (value: number) => fixed(value, 0);
const errors = (count: number, detail: string) => (count && detail ? `${count} (${detail})` : String(count));

export function computeTargets(rows: Row[], memory: MemoryResult | null): Target[] {
  const find = (workload: string, server: string) => rows.find((row) => row.workload === workload && row.server === server);
  const targets: Target[] = [];
  const ratio = (name: string, goal: string, min: number, a: Row | undefined, b: Row | undefined, extra = '') => {
    if (!a || !b || b.reqPerSec === 0) return targets.push({ name, measured: 'not measured', goal, pass: null });
    const value = a.reqPerSec / b.reqPerSec;
    const shown = min >= 1 ? `${fixed(value, 2)}x` : `${fixed(value * 100, 0)}%`;
    targets.push({ name, measured: `${shown} (${rate(a.reqPerSec)} vs ${rate(b.reqPerSec)} req/s)${extra}`, goal, pass: value >= min });
  };
  for (const w of ['W1', 'W2']) {
    const two = find(w, servers.fastapi2);
    const pp = find(w, servers.pixelpress);
    const extra = two && pp && two.reqPerSec > 0 ? `; ${fixed(pp.reqPerSec / two.reqPerSec, 2)}x vs 2 workers` : '';
    ratio(`${w} req/s vs FastAPI (1 worker)`, '>= 4x', 4, pp, find(w, servers.fastapi1), extra);
  }
  for (const w of ['W1', 'W3']) ratio(`${w} service vs floor`, '>= 90%', 0.9, find(w, servers.pixelpress), find(w, servers.floor));
  const w1 = find('W1', servers.pixelpress);
  targets.push(
    w1
      ? { name: 'W1 p99 vs p50', measured: `${fixed(w1.p99Ms / w1.p50Ms, 2)}x (p99 ${ms(w1.p99Ms)} ms, p50 ${ms(w1.p50Ms)} ms)`, goal: '<= 2x', pass: w1.p99Ms <= 2 * w1.p50Ms }
      : { name: 'W1 p99 vs p50', measured: 'not measured', goal: '<= 2x', pass: null },
  );
  if (memory) {
    targets.push({ name: 'W5 peak RSS', measured: `${mb(memory.peakRssMb)} MB`, goal: '<= 600 MB', pass: memory.peakRssMb <= 600 });
    const { rssAfterWarmupMb: warm, rssAfterMb: after } = memory.mixed;
    targets.push({
      name: `W5 RSS after ${memory.mixed.requests + memory.mixed.errors} mixed vs after warm-up`,
      measured: `${fixed((after / warm) * 100, 0)}% (${mb(after)} vs ${mb(warm)} MB)`,
      goal: '<= 110%',
      pass: after <= 1.1 * warm,
    });
  } else {
    targets.push({ name: 'W5 memory', measured: 'not measured', goal: '<= 600 MB; <= 110%', pass: null });
  }
  return targets;
}

function table(header: string[], lines: string[][]): string {
  const align = header.map((_, i) => (i === 0 || i === 1 ? '---' : '---:'));
  return [header, align, ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function markdown(report: Report): string {
  const machine = Object.entries(report.machine).map(([key, value]) => `- ${key}: ${value}`).join('\n');
  const settings = Object.entries(report.settings).map(([key, value]) => `- ${key}: ${value}`).join('\n');
  const results = table(
    ['Workload', 'Server', 'Conc.', 'Requests', 'req/s', 'p50 ms', 'p99 ms', 'Errors', 'Peak RSS MB', 'Other load'],
    report.rows.map((row) => [
      `${row.workload} ${row.title}`,
      row.server,
      String(row.connections),
      String(row.requests),
      rate(row.reqPerSec),
      ms(row.p50Ms),
      ms(row.p99Ms),
      errors(row.errors, row.errorDetail),
      mb(row.peakRssMb),
      fixed(row.otherLoad, 2),
    ]),
  );
  const m = report.memory;
  const memory = m
    ? table(
        ['Phase', 'Server', 'Conc.', 'Requests', 'Errors', 'Result'],
        [
          [m.burst.title, m.server, String(m.burst.connections), String(m.burst.requests), errors(m.burst.errors, m.burst.errorDetail), `peak RSS ${mb(m.burst.peakRssMb)} MB`],
          [m.mixed.title, m.server, String(m.mixed.connections), String(m.mixed.requests), errors(m.mixed.errors, m.mixed.errorDetail),
            `${rate(m.mixed.reqPerSec)} req/s; RSS after warm-up ${mb(m.mixed.rssAfterWarmupMb)} MB, after the run ${mb(m.mixed.rssAfterMb)} MB`],
        ],
      ) + `\n\nW5 peak RSS over all phases: ${mb(m.peakRssMb)} MB.`
    : '_W5 was not measured._';
  const targets = table(
    ['Target', 'Measured', 'Goal', 'Result'],
    report.targets.map((t) => [t.name, t.measured, t.goal, t.pass === null ? 'n/a' : t.pass ? 'PASS' : '**FAIL**']),
  );
  const notes = report.notes.map((note) => `- ${note}`).join('\n');
  return `## Benchmark results (${report.date}, ${fixed(report.totalSeconds, 0)} s)

Machine:
${machine}

Settings:
${settings}

### Throughput and latency

Requests counts successful answers only. Other load: cores busy with processes the bench did not start, during that run.

${results}

### W5 memory

${memory}

### Targets

${targets}

${notes ? `Notes:\n${notes}\n` : ''}
![req/s and p99 per workload and server](latest.svg)
`;
}

const colours: Record<string, string> = {
  [servers.pixelpress]: '#2563eb',
  [servers.floor]: '#16a34a',
  [servers.fastapi1]: '#ea580c',
  [servers.fastapi2]: '#b45309',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Horizontal bars, one group per workload, req/s on the left and p99 on the right. Each group has its own scale:
 * workloads differ by 100x (a 450x300 blur against a 4 MP AVIF encode), so one shared axis would flatten most bars.
 */
export function svgChart(report: Report): string {
  const workloads = [...new Set(report.rows.map((row) => `${row.workload} ${row.title}`))];
  const bar = 16, gap = 4, groupGap = 30, top = 70, labelWidth = 240, panelWidth = 300, panelGap = 120;
  const left = labelWidth, right = labelWidth + panelWidth + panelGap;
  const parts: string[] = [];
  let y = top;
  for (const name of workloads) {
    const rows = report.rows.filter((row) => `${row.workload} ${row.title}` === name);
    const maxRate = Math.max(...rows.map((row) => row.reqPerSec), 1e-9);
    const maxP99 = Math.max(...rows.map((row) => row.p99Ms), 1e-9);
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(name)}</text>`);
    y += 8;
    for (const row of rows) {
      const colour = colours[row.server] ?? '#6b7280';
      const rateWidth = (row.reqPerSec / maxRate) * panelWidth;
      const p99Width = (row.p99Ms / maxP99) * panelWidth;
      parts.push(
        `<text x="${left - 8}" y="${y + bar - 4}" text-anchor="end">${escapeXml(row.server)}</text>`,
        `<rect x="${left}" y="${y}" width="${rateWidth.toFixed(1)}" height="${bar}" fill="${colour}"/>`,
        `<text x="${left + rateWidth + 4}" y="${y + bar - 4}">${rate(row.reqPerSec)}</text>`,
        `<rect x="${right}" y="${y}" width="${p99Width.toFixed(1)}" height="${bar}" fill="${colour}" opacity="0.75"/>`,
        `<text x="${right + p99Width + 4}" y="${y + bar - 4}">${ms(row.p99Ms)} ms</text>`,
      );
      y += bar + gap;
    }
    y += groupGap - gap;
  }
  const width = right + panelWidth + 90;
  const height = y + 10;
  const conc = [...new Set(report.rows.map((row) => row.connections))].join(' or ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="16" font-weight="bold">pixelpress bench ${escapeXml(report.date)}: ${conc} concurrent clients (see table)</text>
<text x="${left}" y="50" font-weight="bold">req/s (higher is better)</text>
<text x="${right}" y="50" font-weight="bold">p99 latency (lower is better)</text>
<text x="10" y="${height - 12}" fill="#555">Each workload has its own scale. ${escapeXml(report.machine['CPU'] ?? '')}, ${escapeXml(report.machine['Cores'] ?? '')} cores; other load: ${escapeXml(report.machine['Other load']?.split(' ')[0] ?? '?')} cores.</text>
${parts.join('\n')}
</svg>
`;
}
