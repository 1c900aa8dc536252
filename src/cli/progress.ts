/**
 * Batch progress on stderr: on a terminal a bar redrawn in place by cli-progress (done/total, files per second, ETA),
 * with failures printed above it; otherwise (a pipe, a log file, CI) one plain line per file, which a log keeps readable.
 */
import type { Writable } from 'node:stream';
import { MultiBar } from 'cli-progress';

export interface Progress {
  /** One file finished: `problem` is set when it failed. */
  fileDone(file: string, outcome: { output?: string; problem?: string; summary?: string }): void;
  /** Take the bar off the screen before the final summary. */
  finish(): void;
}

type Stream = Pick<Writable, 'write'> & { isTTY?: boolean };

function lineFor(file: string, outcome: { output?: string; problem?: string; summary?: string }): string {
  return outcome.problem ? `pixelpress: ${file}: ${outcome.problem}` : `${file} -> ${outcome.output}${outcome.summary ? ` (${outcome.summary})` : ''}`;
}

export function createProgress(total: number, stream: Stream, now: () => number = () => performance.now()): Progress {
  let done = 0;
  let failed = 0;
  if (stream.isTTY !== true) {
    return {
      fileDone(file, outcome) {
        done++;
        stream.write(`[${done}/${total}] ${lineFor(file, outcome)}\n`);
      },
      finish() {},
    };
  }

  const started = now();
  const speed = () => (done / Math.max((now() - started) / 1000, 1e-3)).toFixed(1);
  // MultiBar rather than SingleBar for its log(): a failure is printed above the bar, which is redrawn below it.
  const bars = new MultiBar({
    stream: stream as NodeJS.WritableStream,
    format: '[{bar}] {value}/{total}  {speed} files/s  ETA {eta_formatted}{failed}',
    barCompleteChar: '#',
    barIncompleteChar: '-',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    // Cut to the terminal's width rather than wrap: a wrapped bar cannot be redrawn in place.
    linewrap: false,
    // Our own output goes through log(); nothing else in this process writes to the terminal while the bar runs.
    gracefulExit: true,
  });
  const bar = bars.create(total, 0, { speed: '0.0', failed: '' });
  return {
    fileDone(file, outcome) {
      done++;
      if (outcome.problem) {
        failed++;
        bars.log(`${lineFor(file, outcome)}\n`);
      }
      // Successes are counted by the bar, not listed.
      bar.increment(1, { speed: speed(), failed: failed ? `  ${failed} failed` : '' });
    },
    finish() {
      // A failure logged since the last redraw is written by a redraw; stop() alone would drop it.
      bars.update();
      bars.stop();
    },
  };
}
