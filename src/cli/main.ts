#!/usr/bin/env node
/** The command line: the same operation registry as the HTTP API, over files, folders, or stdin/stdout. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { isImageError } from '../core/errors.js';
import { declaredParamNames, findOperation, operations } from '../core/operations/index.js';
import { resolveLimits } from '../core/limits.js';
import { info, prepare, run, type Step } from '../core/pipeline.js';
import { parseOperations } from '../core/pipeline-json.js';
import { version } from '../version.js';
import { problemOf, runBatch } from './batch.js';
import { expandInputs, fileProblem, isDirectory, outputPathFor, typeFromPath } from './files.js';
import { createProgress } from './progress.js';
import { serve, serveUsage } from './serve.js';

/** The command column: as wide as the longest name (watermarkImage), so the summaries line up. */
const nameWidth = Math.max(11, ...operations.map((operation) => operation.name.length));
const usage = `Usage: pixelpress <command> [--param value ...] [input ...] [-o output]

Commands:
  ${operations.map((operation) => `${operation.name.padEnd(nameWidth)} ${operation.summary}`).join('\n  ')}
  ${'pipeline'.padEnd(nameWidth)} Run --operations '<JSON array>' or --pipeline ops.json (imaginary's /pipeline format)
  ${'info'.padEnd(nameWidth)} Print the image's metadata as JSON
  ${'serve'.padEnd(nameWidth)} Start the HTTP service (--port 9000 --workers 2 ...; pixelpress help serve lists every flag)
  ${'help <cmd>'.padEnd(nameWidth)} Show the parameters of a command

Inputs are files or folders (a folder stands for the files in it); none, or -, reads stdin.
The output is a file (its extension picks the format: -o thumb.webp), a folder (-o out/: one file per input,
same name), or stdout (-o -, or nothing when stdout is not a terminal).
Several inputs or a folder run as a batch: --jobs N files at once (default: the number of cores), progress on
stderr, a bad file is reported and skipped, and the exit code is 1 if any file failed.
Parameters are imaginary's, e.g.:
  pixelpress fit --width 256 --height 256 photo.jpg -o thumb.webp
  pixelpress resize --width 200 photos/*.jpg -o small/

Options: -o, --output PATH   -i, --input PATH (repeatable)   --jobs N   --version   --help`;

function helpFor(name: string): string {
  const operation = findOperation(name);
  if (!operation) return usage;
  const lines = Object.entries(operation.params).map(([name, spec]) => `  --${name.padEnd(12)} ${spec.description}`);
  return `pixelpress ${operation.name}: ${operation.summary}\n\n${operation.description}\n\nParameters:\n${lines.join('\n')}`;
}

async function readInput(path: string): Promise<Buffer> {
  if (path !== '-') {
    const data = await readFile(path).catch((err: unknown) => {
      throw new UsageError(`${path}: ${fileProblem(err)}`, 1);
    });
    if (data.length === 0) throw new UsageError(`${path}: the file is empty`, 2);
    return data;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  if (data.length === 0) throw new UsageError('stdin is empty: give an input file, or pipe an image in', 2);
  return data;
}

/** A failure the CLI words itself, with its exit code: 2 for what the user asked, 1 for what went wrong. */
class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** The output format asked for by -o's extension goes to the last step, unless --type already says the same. */
function withTypeFrom(output: string | undefined, steps: Step[]): Step[] {
  const wanted = output && output !== '-' ? typeFromPath(output) : undefined;
  const last = steps.at(-1);
  if (!wanted || !last) return steps;
  const given = last.params?.type;
  if (given !== undefined && given !== '' && typeFromPath(`x.${String(given)}`) !== wanted) {
    throw new UsageError(`-o ${output} asks for ${wanted} but --type is ${String(given)}`);
  }
  return [...steps.slice(0, -1), { ...last, params: { ...last.params, type: wanted } }];
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 2;
  }
  if (command === 'help') {
    const topic = rest[0] ?? '';
    if (topic === 'serve') {
      process.stdout.write(`${serveUsage()}\n`);
      return 0;
    }
    if (topic !== '' && !findOperation(topic)) {
      process.stderr.write(`pixelpress: no command ${JSON.stringify(topic)}\n\n${usage}\n`);
      return 2;
    }
    process.stdout.write(`${helpFor(topic)}\n`);
    return 0;
  }
  if (command === 'serve') return serve(rest);
  // Before anything is read: an unknown command must not wait for stdin to close.
  if (command !== 'info' && command !== 'pipeline' && !findOperation(command)) {
    process.stderr.write(`pixelpress: unknown command ${JSON.stringify(command)}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      input: { type: 'string', short: 'i', multiple: true },
      output: { type: 'string', short: 'o' },
      operations: { type: 'string' },
      pipeline: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      ...Object.fromEntries(declaredParamNames().map((name) => [name, { type: 'string' as const }])),
    },
  });
  const { input: inputFlags, output: outputPath, operations: operationsFlag, pipeline: pipelineFile, jobs: jobsFlag, ...params } = values as Record<string, string | undefined> & { input?: string[] };
  const jobs = jobsFlag === undefined ? availableParallelism() : Number(jobsFlag);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`Expected positive integer for --jobs but received ${JSON.stringify(jobsFlag)}`);
  const given = [...(inputFlags ?? []), ...positionals];
  const { files, hadFolder } = await expandInputs(given.length ? given : ['-']);
  if (files.length === 0) throw new UsageError(`no files in ${given.join(', ')}`);
  const outputIsFolder = outputPath !== undefined && outputPath !== '-' && (outputPath.endsWith('/') || (await isDirectory(outputPath)));
  const batch = files.length > 1 || hadFolder;
  if (batch && files.includes('-')) throw new UsageError('stdin (-) cannot be one of several inputs');

  if (command === 'info') {
    if (files.length === 1) {
      process.stdout.write(`${JSON.stringify(await info(await readInput(files[0]!)), null, 2)}\n`);
      return 0;
    }
    let failed = 0;
    for (const file of files) {
      try {
        process.stdout.write(`${JSON.stringify({ file, ...(await info(await readInput(file))) })}\n`);
      } catch (err) {
        failed++;
        process.stderr.write(`pixelpress: ${file}: ${err instanceof UsageError ? err.message.replace(`${file}: `, '') : problemOf(err)}\n`);
      }
    }
    return failed ? 1 : 0;
  }

  if (operationsFlag !== undefined && pipelineFile !== undefined) throw new UsageError('give --operations or --pipeline, not both');
  const operationsJson = pipelineFile === undefined ? operationsFlag : await readFile(pipelineFile, 'utf8').catch((err: unknown) => {
    throw new UsageError(`--pipeline ${pipelineFile}: ${fileProblem(err)}`);
  });
  const baseSteps: Step[] = command === 'pipeline' ? parseOperations(operationsJson ?? '') : [{ operation: command, params: params as Record<string, string> }];
  const source = command === 'pipeline' ? 'json' : 'query';
  // Parameters are checked before any input is read, so a typo fails at once rather than after stdin closes.
  prepare(baseSteps, resolveLimits(), source);

  if (batch) {
    if (outputPath === undefined || outputPath === '-') throw new UsageError(`${files.length} inputs need an output folder: -o folder/`);
    if (!outputIsFolder && typeFromPath(outputPath)) {
      throw new UsageError(`${files.length} inputs need an output folder, not the file ${outputPath} (end it with / to make a folder)`);
    }
    const progress = createProgress(files.length, process.stderr);
    const failures = await runBatch({ files, outputDir: outputPath, jobs, progress, process: (input) => run(input, baseSteps, { source }) });
    const ok = files.length - failures.length;
    if (failures.length === 0) {
      process.stderr.write(`pixelpress: ${ok} of ${files.length} files written to ${outputPath}\n`);
      return 0;
    }
    process.stderr.write(`pixelpress: ${ok} of ${files.length} files written to ${outputPath}; ${failures.length} failed:\n${failures.map((failure) => `  ${failure.file}: ${failure.problem}`).join('\n')}\n`);
    return 1;
  }

  const file = files[0]!;
  const toStdout = outputPath === undefined || outputPath === '-';
  // Image bytes on a terminal are garbage and can leave it in a strange state; `-o -` says it is meant.
  if (outputPath === undefined && process.stdout.isTTY) throw new UsageError('not writing image data to a terminal: give -o FILE, redirect stdout, or -o - to insist');
  const steps = outputIsFolder ? baseSteps : withTypeFrom(outputPath, baseSteps);
  const result = await run(await readInput(file), steps, { source });
  // A type taken from -o's extension is ours, not the user's: the mismatch check below speaks for it.
  const ignored = (result.ignored ?? []).filter((name) => name !== 'type' || steps === baseSteps);
  if (ignored.length) process.stderr.write(`pixelpress: ${command} ignored ${ignored.map((name) => `--${name}`).join(', ')}\n`);
  let target = outputPath;
  if (outputIsFolder) target = outputPathFor(file === '-' ? 'stdin' : file, outputPath!, result.type);
  else if (!toStdout && typeFromPath(outputPath!) && typeFromPath(outputPath!) !== result.type) {
    // An operation that always writes one format (the seed blur writes JPEG) cannot honour the extension.
    throw new UsageError(`${command} wrote ${result.type}, which does not fit ${outputPath}; name the file .${result.type === 'jpeg' ? 'jpg' : result.type}`);
  }
  if (toStdout) process.stdout.write(result.data);
  else {
    if (outputIsFolder) await mkdir(outputPath!, { recursive: true });
    await writeFile(target!, result.data).catch((err: unknown) => {
      throw new UsageError(`${target}: ${fileProblem(err)}`, 1);
    });
  }
  process.stderr.write(`${toStdout ? '' : `${target}: `}${result.type} ${result.width}x${result.height} ${result.data.length} bytes\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isImageError(err)) process.stderr.write(`pixelpress: ${err.code}: ${err.detail}\n`);
    else process.stderr.write(`pixelpress: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError) process.exitCode = err.exitCode;
    else process.exitCode = isImageError(err) || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  },
);
