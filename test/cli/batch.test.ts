/**
 * The CLI over many files, as a user runs it: a real process, real files in a scratch folder, pipes for stdout and
 * stderr (plain progress lines), a real terminal (a detached tmux session) for the redrawn progress bar, and every
 * written image decoded and compared with a reference computed here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pixelpress-cli-batch-'));
const inDir = join(work, 'in');
const COUNT = 50;
const BAD = 'p17-broken.jpg';
const names: string[] = [];
// Resolved here: the CLI runs with the scratch folder as its working directory, where tsx cannot be found by name.
const tsx = import.meta.resolve('tsx');

function cli(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...args], { cwd: work, input, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
}

/** 2x2 box average: the reference for a 2x downscale of a smooth image (the CLI uses libvips' lanczos3). */
function halve(src: Raw): Raw {
  const width = src.width / 2;
  const height = src.height / 2;
  const data = new Uint8Array(width * height * src.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < src.channels; c++) {
        let sum = 0;
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) sum += src.data[((2 * y + dy) * src.width + 2 * x + dx) * src.channels + c]!;
        data[(y * width + x) * src.channels + c] = Math.round(sum / 4);
      }
    }
  }
  return { data, width, height, channels: src.channels };
}

before(async () => {
  mkdirSync(inDir);
  const base = await photo(96, 64);
  for (let i = 0; i < COUNT; i++) {
    const name = i === 17 ? BAD : `p${String(i).padStart(2, '0')}.jpg`;
    names.push(name);
    // Each a different hue, so an output written from the wrong input, or under another's name, would show.
    const image = i === 17 ? Buffer.from('this is not a JPEG, only named like one\n') : await sharp(base).modulate({ hue: i * 7 }).jpeg({ quality: 95 }).toBuffer();
    writeFileSync(join(inDir, name), image);
  }
});

after(() => {
  spawnSync('tmux', ['-L', `pixelpress-test-${process.pid}`, 'kill-server']);
  rmSync(work, { recursive: true, force: true });
});

test(`resize over ${COUNT} files with one bad file: the rest are written and match a reference, the bad one is named, exit 1`, { timeout: 120_000 }, async () => {
  const files = names.map((name) => `in/${name}`);
  const batch = spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), 'resize', '--width', '48', '--type', 'png', '--jobs', '3', ...files, '-o', 'out/'], { cwd: work, encoding: 'utf8' });
  assert.equal(batch.status, 1, batch.stderr);
  assert.equal(batch.stdout, '', 'nothing on stdout in batch mode');
  const stderr = batch.stderr;
  // Progress: one line per file on a pipe, numbered to the total.
  const progress = stderr.split('\n').filter((line) => /^\[\d+\/50\] /.test(line));
  assert.equal(progress.length, COUNT);
  assert.deepEqual(progress.map((line) => Number(/^\[(\d+)\//.exec(line)![1])), Array.from({ length: COUNT }, (_, i) => i + 1));
  // The failure: named, with its code, once while running and once in the summary; words about files.
  const failureLines = stderr.split('\n').filter((line) => line.includes(BAD));
  assert.equal(failureLines.length, 2, stderr);
  for (const line of failureLines) assert.match(line, /PP_UNSUPPORTED_MEDIA: The file is not an image/);
  assert.match(stderr, new RegExp(`pixelpress: ${COUNT - 1} of ${COUNT} files written to out/; 1 failed:\\n  in/${BAD}: PP_UNSUPPORTED_MEDIA`));
  assert.doesNotMatch(stderr, /body|upload/i);

  const written = readdirSync(join(work, 'out')).sort();
  assert.deepEqual(written, names.filter((name) => name !== BAD).map((name) => name.replace(/\.jpg$/, '.png')).sort());
  for (const name of names.filter((item) => item !== BAD)) {
    const out = await decode(readFileSync(join(work, 'out', name.replace(/\.jpg$/, '.png'))));
    assert.deepEqual([out.width, out.height], [48, 32], name);
    const reference = halve(await decode(readFileSync(join(inDir, name))));
    assert.ok(psnr(out, reference) > 30, `${name}: PSNR ${psnr(out, reference).toFixed(1)} dB`);
  }
});

test('bad parameters stop a batch before any file is read or written', () => {
  const result = cli(['resize', '--width', 'abc', ...names.map((name) => `in/${name}`), '-o', 'never/']);
  assert.equal(result.status, 2);
  assert.match(result.stderr.toString(), /PP_INVALID_PARAM/);
  assert.equal(readdirSync(work).includes('never'), false);
});

test('a folder stands for its files, and every file failing still ends with a summary', () => {
  const onlyBad = join(work, 'bad-only');
  mkdirSync(onlyBad);
  writeFileSync(join(onlyBad, 'a.jpg'), 'nope');
  writeFileSync(join(onlyBad, '.hidden.jpg'), 'skipped');
  const result = spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), 'flip', 'bad-only', '-o', 'flipped'], { cwd: work, encoding: 'utf8' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^\[1\/1\] pixelpress: bad-only\/a\.jpg: PP_UNSUPPORTED_MEDIA/m);
  assert.match(result.stderr, /0 of 1 files written to flipped; 1 failed/);
});

test('-o picks the format from its extension; a clashing --type is refused; -o folder/ writes inside it', async () => {
  const input = `in/${names[0]}`;
  const webp = cli(['fit', '--width', '40', '--height', '40', input, '-o', 'thumb.webp']);
  assert.equal(webp.status, 0, webp.stderr.toString());
  assert.equal((await sharp(readFileSync(join(work, 'thumb.webp'))).metadata()).format, 'webp');
  const clash = cli(['fit', '--width', '40', '--height', '40', '--type', 'png', input, '-o', 'clash.webp']);
  assert.equal(clash.status, 2);
  assert.equal(clash.stderr.toString(), 'pixelpress: -o clash.webp asks for webp but --type is png\n');
  const intoFolder = cli(['flip', input, '-o', 'folder/']);
  assert.equal(intoFolder.status, 0, intoFolder.stderr.toString());
  assert.deepEqual(readdirSync(join(work, 'folder')), [names[0]]);
  // The seed blur always writes JPEG: it cannot honour .png, and says so rather than writing a JPEG named .png.
  const blur = cli(['pillowblur', input, '-o', 'blur.png']);
  assert.equal(blur.status, 2);
  assert.match(blur.stderr.toString(), /pillowblur wrote jpeg, which does not fit blur\.png/);
  assert.equal(readdirSync(work).includes('blur.png'), false);
});

test('several -i add up instead of the last one winning; several inputs need an output folder', () => {
  const both = cli(['flip', '-i', `in/${names[0]}`, '-i', `in/${names[1]}`, '-o', 'two/']);
  assert.equal(both.status, 0, both.stderr.toString());
  assert.deepEqual(readdirSync(join(work, 'two')).sort(), [names[0], names[1]]);
  const toFile = cli(['flip', `in/${names[0]}`, `in/${names[1]}`, '-o', 'one.jpg']);
  assert.equal(toFile.status, 2);
  assert.match(toFile.stderr.toString(), /2 inputs need an output folder/);
  const toStdout = cli(['flip', `in/${names[0]}`, `in/${names[1]}`]);
  assert.equal(toStdout.status, 2);
  assert.equal(toStdout.stdout.length, 0);
});

test('--version prints the package version; --jobs must be a positive integer; a missing file is named', () => {
  const version = cli(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.toString().trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  const jobs = cli(['flip', '--jobs', '0', `in/${names[0]}`, '-o', 'j/']);
  assert.equal(jobs.status, 2);
  assert.match(jobs.stderr.toString(), /Expected positive integer for --jobs but received "0"/);
  const missing = cli(['flip', 'in/missing.jpg', '-o', 'm.jpg']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.toString(), 'pixelpress: in/missing.jpg: no such file\n');
  const empty = cli(['flip'], Buffer.alloc(0));
  assert.equal(empty.status, 2);
  assert.match(empty.stderr.toString(), /stdin is empty/);
});

/** Run the CLI on a pseudo-terminal (util-linux script): stdout and stderr are a TTY, as in an interactive shell. */
const tmuxMissing = spawnSync('tmux', ['-V']).status !== 0;
let sessions = 0;

/**
 * Runs the CLI in a detached tmux session, a real terminal 100 columns wide. Every byte written to it is recorded
 * (pipe-pane), and the screen is captured when the command ends: tmux's wait-for channels order the steps, no sleeps.
 */
function onTerminal(args: string[]): { status: number; screen: string; written: string } {
  const tmux = (...words: string[]) => spawnSync('tmux', ['-L', `pixelpress-test-${process.pid}`, ...words], { encoding: 'utf8' });
  const session = `s${sessions++}`;
  const record = join(work, `${session}.written`);
  const command = [process.execPath, '--import', tsx, join(root, 'src/cli/main.ts'), ...args].map((word) => `'${word}'`).join(' ');
  const script = `tmux wait-for go-${session}; ${command}; echo "EXIT=$?"; tmux wait-for -S done-${session}; sleep 600`;
  assert.equal(tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '40', '-c', work, script).status, 0);
  try {
    assert.equal(tmux('pipe-pane', '-o', '-t', session, `cat > '${record}'`).status, 0);
    // The -L server's socket is what `tmux` inside the session must use too: it inherits $TMUX, which names it.
    tmux('wait-for', '-S', `go-${session}`);
    tmux('wait-for', `done-${session}`);
    const screen = tmux('capture-pane', '-p', '-t', session).stdout;
    const status = Number(/EXIT=(\d+)/.exec(screen)?.[1] ?? -1);
    return { status, screen, written: readFileSync(record, 'utf8') };
  } finally {
    tmux('kill-session', '-t', session);
  }
}

test('on a terminal: a progress bar redrawn in place, failures kept above it, no image bytes on the screen', { skip: tmuxMissing && process.env.CI !== 'true' && 'tmux is missing (npm test installs it as root)' }, () => {
  assert.ok(!tmuxMissing, 'tmux is installed');
  const files = names.slice(10, 20).map((name) => `in/${name}`);
  const batch = onTerminal(['flip', '--jobs', '2', ...files, '-o', 'tty/']);
  assert.equal(batch.status, 1, batch.screen);
  // Drawn while it ran: the bar with done/total, throughput and ETA, up to the last file.
  assert.match(batch.written, /\[#{24}\] 10\/10 {2}[\d.]+ files\/s {2}ETA \d+s {2}1 failed/);
  // What stays on the screen: the failure above where the bar was, the summary, and neither the bar nor the successes.
  assert.match(batch.screen, /^pixelpress: in\/p17-broken\.jpg: PP_UNSUPPORTED_MEDIA/m);
  assert.match(batch.screen, /^pixelpress: 9 of 10 files written to tty\/; 1 failed:$/m);
  assert.doesNotMatch(batch.screen, /files\/s/);
  assert.doesNotMatch(batch.screen, /in\/p1\d\.jpg ->/);
  const toScreen = onTerminal(['flip', `in/${names[0]}`]);
  assert.equal(toScreen.status, 2);
  assert.match(toScreen.screen, /not writing image data to a terminal/);
});
