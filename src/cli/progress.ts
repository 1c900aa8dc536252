/**
 * Batch progress on stderr: on a terminal one line redrawn in place (a bar, done/total, files per second, ETA), with
 * failures printed above it; otherwise (a pipe, a log file, CI) one plain line per file, which a log keeps readable.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  /** One file finished: `problem` is set when it failed. */
  fileDone(file: string, outcome: { output?: string; problem?: string; summary?: string }): void;
  /** Clear the live line before the final summary. */
  finish(): void;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function createProgress(total: number, stream: ProgressStream, now: () => number = () => performance.now()): Progress {
  const started = now();
  let done = 0;
  let failed = 0;
  const tty = stream.isTTY === true;

  const rate = () => done / Math.max((now() - started) / 1000, 1e-3);
  const line = () => {
    const width = 24;
    const filled = Math.round((done / total) * width);
    const eta = done === 0 ? Number.NaN : (total - done) / rate();
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}  ${rate().toFixed(1)} files/s  ETA ${duration(eta)}${failed ? `  ${failed} failed` : ''}`;
    // A pseudo-terminal may report 0 columns: treat that as unknown.
    return text.slice(0, Math.max(20, (stream.columns || 80) - 1));
  };
  if (tty) stream.write(line());

  return {
    fileDone(file, outcome) {
      done++;
      if (outcome.problem) failed++;
      const message = outcome.problem ? `pixelpress: ${file}: ${outcome.problem}` : `${file} -> ${outcome.output}${outcome.summary ? ` (${outcome.summary})` : ''}`;
      if (tty) {
        // Only failures stay on screen; successes are counted by the bar.
        stream.write(`\r\x1b[K${outcome.problem ? `${message}\n` : ''}${line()}`);
      } else {
        stream.write(`[${done}/${total}] ${message}\n`);
      }
    },
    finish() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
