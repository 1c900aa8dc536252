/** The README's CLI commands ("## CLI and library"), run as written against the built CLI, outputs decoded. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { photo } from '../../testkit/images.js';
import { ensureBuilt } from '../../testkit/server-process.js';

const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function cliCommands(): string[] {
  const section = readme.slice(readme.indexOf('## CLI and library\n'));
  return /```sh\n([\s\S]*?)```/.exec(section)![1]!.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
}

test('every CLI command in the README works as written', { timeout: 120_000 }, async () => {
  await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'pp-readme-cli-'));
  try {
    writeFileSync(join(dir, 'photo.jpg'), await photo(640, 480));
    mkdirSync(join(dir, 'photos'));
    for (const [i, size] of [[1, 400], [2, 500], [3, 600]] as const) writeFileSync(join(dir, 'photos', `p${i}.jpg`), await photo(size, 300));
    const outputs: string[] = [];
    for (const command of cliCommands()) {
      assert.match(command, /^node dist\/cli\/main\.js /);
      const local = command.replace('node dist/cli/main.js', `'${process.execPath}' '${join(root, 'dist/cli/main.js')}'`);
      const { stdout } = await promisify(execFile)('bash', ['-c', local], { cwd: dir, encoding: 'latin1', timeout: 60_000 });
      outputs.push(stdout);
    }
    const meta = (file: string) => sharp(readFileSync(join(dir, file))).metadata();
    const thumb = await meta('thumb.webp');
    assert.deepEqual([thumb.format, thumb.width, thumb.height], ['webp', 256, 192]);
    assert.deepEqual(readdirSync(join(dir, 'small')).sort(), ['p1.jpg', 'p2.jpg', 'p3.jpg']);
    for (const [file, height] of [['p1.jpg', 150], ['p2.jpg', 120], ['p3.jpg', 100]] as const) {
      const small = await meta(`small/${file}`);
      assert.deepEqual([small.format, small.width, small.height], ['jpeg', 200, height]);
    }
    const piped = await meta('thumb.jpg');
    assert.deepEqual([piped.format, piped.width, piped.height], ['jpeg', 256, 192]);
    assert.match(outputs.at(-1)!, /--width/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
