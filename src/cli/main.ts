#!/usr/bin/env node
/** The command line: the same operation registry as the HTTP API, reading and writing files or stdin/stdout. */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isImageError } from '../core/errors.js';
import { declaredParamNames, findOperation, operations } from '../core/operations/index.js';
import { resolveLimits } from '../core/limits.js';
import { info, prepare, run, type Step } from '../core/pipeline.js';
import { parseOperations } from '../core/pipeline-json.js';

const usage = `Usage: pixelpress <command> [--param value ...] [-i input] [-o output]

Commands:
  ${operations.map((operation) => `${operation.name.padEnd(11)} ${operation.summary}`).join('\n  ')}
  pipeline    Run --operations '<JSON array>' (imaginary's /pipeline format)
  info        Print the image's metadata as JSON
  help <cmd>  Show the parameters of a command

Input and output default to stdin and stdout. Parameters are imaginary's, e.g.:
  pixelpress fit --width 256 --height 256 --type webp -i photo.jpg -o thumb.webp`;

function helpFor(name: string): string {
  const operation = findOperation(name);
  if (!operation) return usage;
  const lines = Object.entries(operation.params).map(([name, spec]) => `  --${name.padEnd(12)} ${spec.description}`);
  return `pixelpress ${operation.name}: ${operation.summary}\n\n${operation.description}\n\nParameters:\n${lines.join('\n')}`;
}

async function readInput(path: string | undefined): Promise<Buffer> {
  if (path && path !== '-') return readFile(path);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 2;
  }
  if (command === 'help') {
    const topic = rest[0] ?? '';
    if (topic !== '' && !findOperation(topic)) {
      process.stderr.write(`pixelpress: no command ${JSON.stringify(topic)}\n\n${usage}\n`);
      return 2;
    }
    process.stdout.write(`${helpFor(topic)}\n`);
    return 0;
  }
  // Before anything is read: an unknown command must not wait for stdin to close.
  if (command !== 'info' && command !== 'pipeline' && !findOperation(command)) {
    process.stderr.write(`pixelpress: unknown command ${JSON.stringify(command)}\n\n${usage}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
      operations: { type: 'string' },
      ...Object.fromEntries(declaredParamNames().map((name) => [name, { type: 'string' as const }])),
    },
  });
  const { input: inputPath, output: outputPath, operations: operationsJson, ...params } = values as Record<string, string | undefined>;
  if (command === 'info') {
    process.stdout.write(`${JSON.stringify(await info(await readInput(inputPath)), null, 2)}\n`);
    return 0;
  }
  const steps: Step[] = command === 'pipeline' ? parseOperations(operationsJson ?? '') : [{ operation: command, params: params as Record<string, string> }];
  const source = command === 'pipeline' ? 'json' : 'query';
  // Parameters are checked before the input is read, so a typo fails at once rather than after stdin closes.
  prepare(steps, resolveLimits(), source);
  const result = await run(await readInput(inputPath), steps, { source });
  if (outputPath && outputPath !== '-') await writeFile(outputPath, result.data);
  else process.stdout.write(result.data);
  if (result.ignored?.length) process.stderr.write(`pixelpress: ${command} ignored ${result.ignored.map((name) => `--${name}`).join(', ')}\n`);
  process.stderr.write(`${result.type} ${result.width}x${result.height} ${result.data.length} bytes\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isImageError(err)) process.stderr.write(`pixelpress: ${err.code}: ${err.detail}\n`);
    else process.stderr.write(`pixelpress: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = isImageError(err) || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  },
);
