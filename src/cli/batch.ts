/**
 * Many files through the same steps, `jobs` at a time: each file is read, processed and written on its own, so one
 * bad file costs only itself. The caller turns the list of failures into the exit code.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isImageError } from '../core/errors.js';
import type { RunResult } from '../core/pipeline.js';
import { fileProblem, outputPathFor } from './files.js';
import type { Progress } from './progress.js';

export interface BatchOptions {
  files: readonly string[];
  outputDir: string;
  jobs: number;
  /** Process one file's bytes (the registry's run() with the command's steps). */
  process: (input: Buffer) => Promise<RunResult>;
  progress: Progress;
}

export interface BatchFailure {
  file: string;
  problem: string;
}

/** What a failure says: a stable code and its detail for image problems, plain words for file-system ones. */
export function problemOf(err: unknown): string {
  if (isImageError(err)) return `${err.code}: ${err.detail}`;
  return fileProblem(err);
}

export async function runBatch(options: BatchOptions): Promise<BatchFailure[]> {
  await mkdir(options.outputDir, { recursive: true });
  const failures: BatchFailure[] = [];
  /** Output paths already written, so two inputs that map to one name (a.png, a.jpg → a.webp) do not overwrite. */
  const written = new Map<string, string>();
  let next = 0;

  const one = async (file: string) => {
    try {
      const input = await readFile(file);
      if (input.length === 0) throw new Error('the file is empty');
      const result = await options.process(input);
      const output = outputPathFor(file, options.outputDir, result.type);
      const earlier = written.get(output);
      if (earlier) throw new Error(`its output ${output} was already written from ${earlier}`);
      written.set(output, file);
      await writeFile(output, result.data);
      options.progress.fileDone(file, { output, summary: `${result.type} ${result.width}x${result.height}, ${result.data.length} bytes` });
    } catch (err) {
      const problem = problemOf(err);
      failures.push({ file, problem });
      options.progress.fileDone(file, { problem });
    }
  };

  const worker = async () => {
    while (next < options.files.length) await one(options.files[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, options.files.length)) }, worker));
  options.progress.finish();
  // In input order, not completion order, so the summary reads like the command line.
  return failures.sort((a, b) => options.files.indexOf(a.file) - options.files.indexOf(b.file));
}
