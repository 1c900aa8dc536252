/**
 * Runs the Dockerfile's steps without Docker: each stage gets a scratch folder that stands for its filesystem,
 * WORKDIR maps into it, COPY copies from the build context (the repository's files minus .dockerignore) or from an
 * earlier stage, and RUN runs the same command there, in the same order. Then it starts the final stage the way the
 * image would: its ENV, as a non-root user (uid 1000, the node images' `node`), on a read-only root filesystem
 * (a private mount namespace with / remounted read-only), runs the HEALTHCHECK command until it passes, processes
 * one image through Nextcloud's pipeline call, sends STOPSIGNAL and expects a clean exit within the drain time.
 *
 * What differs from a real build, on purpose: the base image is this machine (Debian 12, like bookworm-slim), its
 * Node is used, and `apt-get install` steps install nothing system-wide: each package is either already installed
 * or is downloaded and unpacked into the stage folder, whose library folder is put on LD_LIBRARY_PATH. npm uses a
 * scratch cache, so `npm cache clean` touches nothing of the machine's.
 *
 *   node --import tsx scripts/docker-steps.ts [--keep] [--port N]
 * Prints one line per step and a JSON summary last; exit 0 when every step and check passed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../bench/procs.js';
import { commandOf, copyOperands, envPairs, healthcheckOptions, stages, type Stage } from './dockerfile.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const log = (message: string) => process.stderr.write(`docker-steps: ${message}\n`);

/** .dockerignore patterns as Docker reads the simple ones: a path, a `**∕` prefix, or `*.ext`. */
function ignored(path: string, patterns: string[]): boolean {
  return patterns.some((pattern) => {
    if (pattern.startsWith('*.')) return path.endsWith(pattern.slice(1));
    const anywhere = pattern.startsWith('**/');
    const bare = anywhere ? pattern.slice(3) : pattern;
    const parts = path.split('/');
    if (anywhere) return parts.includes(bare);
    return path === bare || path.startsWith(`${bare}/`);
  });
}

/** The build context: files git knows (tracked or new, not ignored), minus .dockerignore. No node_modules, no dist. */
function makeContext(dir: string): number {
  const patterns = readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repo, encoding: 'utf8' }).split('\0').filter(Boolean);
  let count = 0;
  for (const file of files) {
    if (ignored(file, patterns) || !existsSync(join(repo, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(repo, file), join(dir, file));
    count++;
  }
  return count;
}

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  stage: Stage;
}

/** `apt-get install -y --no-install-recommends a b && ...` → [a, b]. */
function aptPackages(command: string): string[] {
  const install = /apt-get install([^&;|]*)/.exec(command)?.[1] ?? '';
  return install.split(/\s+/).filter((word) => word && !word.startsWith('-'));
}

/** Make the packages available to this stage without changing the machine: installed already, or unpacked here. */
function providePackages(state: StageState, packages: string[]): void {
  for (const name of packages) {
    const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    if (status.stdout.includes('install ok installed')) {
      log(`  ${name}: installed on this machine`);
      continue;
    }
    const downloads = join(state.root, '.apt');
    mkdirSync(downloads, { recursive: true });
    let got = spawnSync('apt-get', ['download', name], { cwd: downloads, encoding: 'utf8' });
    if (got.status !== 0) {
      // Package lists may be missing on a fresh machine.
      spawnSync('apt-get', ['update'], { stdio: 'ignore' });
      got = spawnSync('apt-get', ['download', name], { cwd: downloads, encoding: 'utf8' });
    }
    if (got.status !== 0) throw new Error(`apt-get download ${name} failed: ${got.stderr}`);
    for (const deb of readdirSync(downloads).filter((file) => file.startsWith(`${name}_`) && file.endsWith('.deb'))) {
      execFileSync('dpkg', ['-x', join(downloads, deb), state.root]);
    }
    log(`  ${name}: unpacked into the stage (not installed on this machine)`);
  }
  const libDirs = ['usr/lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'usr/lib'].map((dir) => join(state.root, dir)).filter((dir) => existsSync(dir));
  if (libDirs.length) state.env.LD_LIBRARY_PATH = [...libDirs, ...(state.env.LD_LIBRARY_PATH ? [state.env.LD_LIBRARY_PATH] : [])].join(':');
}

/**
 * What a `docker build` on this machine would be given to reach the registry: the proxy and CA settings (Docker passes
 * the proxy variables as build arguments), and the user's npm configuration (registry, cafile), which a scratch HOME
 * would otherwise hide.
 */
function buildNetworkEnv(): Record<string, string> {
  const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];
  const env: Record<string, string> = {};
  for (const name of names) if (process.env[name]) env[name] = process.env[name]!;
  const userconfig = spawnSync('npm', ['config', 'get', 'userconfig'], { encoding: 'utf8' }).stdout.trim();
  if (userconfig && existsSync(userconfig)) env.npm_config_userconfig = userconfig;
  return env;
}

/** An absolute image path inside a stage's folder. */
const inStage = (state: StageState, path: string) => join(state.root, path);

function runStage(stage: Stage, context: string, work: string, done: Map<string, StageState>): StageState {
  const root = join(work, `stage-${stage.name}`);
  mkdirSync(root, { recursive: true });
  const state: StageState = { root, workdir: root, env: { ...buildNetworkEnv(), PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(work, 'home'), npm_config_cache: join(work, 'npm-cache') }, stage };
  log(`stage ${stage.name} (FROM ${stage.from}: this machine stands for the base image)`);
  for (const instruction of stage.instructions) {
    const { keyword, args, line } = instruction;
    const started = performance.now();
    switch (keyword) {
      case 'WORKDIR':
        state.workdir = inStage(state, args);
        mkdirSync(state.workdir, { recursive: true });
        break;
      case 'ENV':
        for (const [name, value] of envPairs(args)) state.env[name] = value;
        break;
      case 'USER':
        state.user = args;
        break;
      case 'COPY': {
        const { from, sources, dest } = copyOperands(args);
        const fromState = from === undefined ? undefined : done.get(from);
        if (from !== undefined && !fromState) throw new Error(`line ${line}: COPY --from=${from}: no such earlier stage`);
        const target = dest.startsWith('/') ? inStage(state, dest) : join(state.workdir, dest);
        for (const source of sources) {
          const path = fromState ? inStage(fromState, source) : join(context, source);
          if (!existsSync(path)) throw new Error(`line ${line}: COPY ${source}: not found in ${fromState ? `stage ${from}` : 'the build context'}`);
          // Docker copies a folder's contents into the destination, and a file into it when it ends with '/'.
          const into = statSync(path).isDirectory() || !(dest.endsWith('/') || sources.length > 1) ? target : join(target, basename(source));
          mkdirSync(statSync(path).isDirectory() ? into : dirname(into), { recursive: true });
          cpSync(path, into, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        if (/\bapt-get\b/.test(args)) {
          providePackages(state, aptPackages(args));
          break;
        }
        const result = spawnSync('bash', ['-ec', args], { cwd: state.workdir, env: state.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        if (result.status !== 0) throw new Error(`line ${line}: RUN ${args}\nexit ${result.status}\n${result.stdout}\n${result.stderr}`);
        break;
      }
      default:
        // EXPOSE, STOPSIGNAL, HEALTHCHECK, CMD, LABEL: used when the image starts, below.
        break;
    }
    const seconds = (performance.now() - started) / 1000;
    log(`  line ${line}: ${keyword} ${args.length > 90 ? `${args.slice(0, 87)}...` : args}${seconds > 1 ? ` (${seconds.toFixed(1)} s)` : ''}`);
  }
  return state;
}

function folderBytes(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

const uidOf = (user: string | undefined) => (user === undefined || user === 'root' ? 0 : user === 'node' ? 1000 : Number(user));

export interface StepsSummary {
  ok: boolean;
  stages: string[];
  contextFiles: number;
  finalStageBytes: number;
  nodeModulesBytes: number;
  uid: number;
  jemalloc: boolean;
  nativeAddon: boolean;
  readOnlyRoot: boolean;
  healthySeconds: number;
  pipelineStatus: number;
  stopSignal: string;
  exitCode: number | null;
  stopSeconds: number;
}

async function main(): Promise<void> {
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const all = stages(dockerfile);
  const work = mkdtempSync(join(tmpdir(), 'pixelpress-docker-steps-'));
  // Readable by the unprivileged user the image runs as, like an image's layers.
  chmodSync(work, 0o755);
  const context = join(work, 'context');
  const contextFiles = makeContext(context);
  log(`build context: ${contextFiles} files in ${context}`);
  const done = new Map<string, StageState>();
  let final: StageState | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    for (const stage of all) {
      final = runStage(stage, context, work, done);
      done.set(stage.name, final);
    }
    if (!final) throw new Error('no stage');
    const by = (keyword: string) => final!.stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.args;
    const cmd = commandOf(by('CMD') ?? '');
    const health = by('HEALTHCHECK') ?? '';
    const stopSignal = by('STOPSIGNAL') ?? 'SIGTERM';
    const uid = uidOf(final.user);
    const port = process.argv.includes('--port') ? Number(process.argv[process.argv.indexOf('--port') + 1]) : await freePort();
    // The container's environment: the image's ENV, nothing inherited but PATH (where node is) and the unpacked libraries.
    const network = Object.keys(buildNetworkEnv());
    const imageEnv = Object.fromEntries(Object.entries(final.env).filter(([name]) => name !== 'npm_config_cache' && !network.includes(name)));
    // The base image's node lives in /usr/local/bin, where any user can run it. So does a copy of this node here:
    // the running one may sit where uid 1000 cannot reach (npx -p node@22 keeps it under /root/.npm).
    const nodeBin = join(final.root, 'usr/local/bin');
    mkdirSync(nodeBin, { recursive: true });
    cpSync(process.execPath, join(nodeBin, 'node'));
    chmodSync(join(nodeBin, 'node'), 0o755);
    const env: Record<string, string> = { ...imageEnv, PATH: `${nodeBin}:${imageEnv.PATH ?? ''}`, PORT: String(port), HOME: '/nonexistent' };

    // Root filesystem read-only in a private mount namespace (the machine's mounts are untouched), then drop to the
    // image's user. exec keeps one process: the signal goes to node itself, as in a container.
    const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
    const asUser = uid === 0 ? '' : `exec setpriv --reuid=${uid} --regid=${uid} --clear-groups -- `;
    // The allocator variables reach node alone, through env(1): unshare, mount and setpriv stand in for the container
    // runtime, which does not run under the image's environment (and setpriv --clear-groups aborts under jemalloc's
    // background thread, which the image's MALLOC_CONF turns on).
    const allocator = ['LD_PRELOAD', 'MALLOC_CONF'].filter((name) => env[name] !== undefined).map((name) => `${name}=${env[name]}`);
    const runtimeEnv = Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'LD_PRELOAD' && name !== 'MALLOC_CONF'));
    const command = allocator.length > 0 ? ['env', ...allocator, ...cmd] : cmd;
    const quoted = command.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    const launcher = canUnshare
      ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -o remount,bind,ro / && ${asUser || 'exec '}${quoted}`]
      : process.getuid?.() === 0 && uid !== 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...command] : command;
    if (!canUnshare) log('unshare is not available: the root filesystem stays writable for this start');
    log(`start: ${launcher.join(' ')} (cwd ${final.workdir}, port ${port})`);
    let output = '';
    child = spawn(launcher[0]!, launcher.slice(1), { cwd: final.workdir, env: runtimeEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    // The HEALTHCHECK command itself, run as the image would run it, until it passes within its start period.
    const healthCmd = commandOf(health);
    const { 'start-period': startPeriod = 30 } = healthcheckOptions(health);
    const started = performance.now();
    let healthySeconds = -1;
    while ((performance.now() - started) / 1000 < startPeriod + 30) {
      const check = spawnSync(healthCmd[0]!, healthCmd.slice(1), { env, cwd: final.workdir, timeout: 5000, ...(uid && process.getuid?.() === 0 ? { uid, gid: uid } : {}) });
      if (check.status === 0) {
        healthySeconds = (performance.now() - started) / 1000;
        break;
      }
      if (child.exitCode !== null) break;
      await sleep(250); // the HEALTHCHECK's own retry rhythm, sped up
    }
    if (healthySeconds < 0) throw new Error(`HEALTHCHECK never passed. Output:\n${output}`);
    log(`HEALTHCHECK passed after ${healthySeconds.toFixed(1)} s`);
    // After the exec chain the spawned process is node itself: its maps say whether LD_PRELOAD took.
    const preloaded = readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n').filter((row) => /\.so/.test(row)).map((row) => basename(row.split(/\s+/).at(-1)!));
    const jemalloc = preloaded.some((name) => name.startsWith('libjemalloc'));
    log(`allocator: ${jemalloc ? 'jemalloc (preloaded)' : "glibc's malloc"}`);

    // Real work on the read-only root: Nextcloud's preview call on a JPEG made here.
    const { default: sharp } = await import('sharp');
    const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3080c0' } }).jpeg().toBuffer();
    const operations = JSON.stringify([{ operation: 'fit', params: { width: 256, height: 256, type: 'webp' } }]);
    const answer = await fetch(`http://127.0.0.1:${port}/pipeline?operations=${encodeURIComponent(operations)}`, { method: 'POST', body: jpeg });
    const body = Buffer.from(await answer.arrayBuffer());
    if (answer.status !== 200) throw new Error(`pipeline answered ${answer.status}: ${body.toString()}`);
    const meta = await sharp(body).metadata();
    if (meta.format !== 'webp' || meta.width !== 256) throw new Error(`pipeline gave ${meta.format} ${meta.width}x${meta.height}`);
    log('POST /pipeline (fit 256 webp) answered a 256-wide WebP');

    const stopStarted = performance.now();
    child.kill(stopSignal as NodeJS.Signals);
    const [exitCode] = await exited;
    const stopSeconds = (performance.now() - stopStarted) / 1000;
    child = undefined;
    log(`${stopSignal}: exit ${exitCode} after ${stopSeconds.toFixed(1)} s`);
    if (/EROFS|read-only file system/i.test(output)) throw new Error(`the service tried to write:\n${output}`);

    const summary: StepsSummary = {
      ok: exitCode === 0,
      stages: all.map((stage) => stage.name),
      contextFiles,
      finalStageBytes: folderBytes(final.workdir),
      nodeModulesBytes: folderBytes(join(final.workdir, 'node_modules')),
      uid,
      jemalloc,
      nativeAddon: existsSync(join(final.workdir, 'native/build/Release/ring_blur.node')),
      readOnlyRoot: canUnshare,
      healthySeconds: Number(healthySeconds.toFixed(1)),
      pipelineStatus: answer.status,
      stopSignal,
      exitCode,
      stopSeconds: Number(stopSeconds.toFixed(1)),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (!summary.ok) process.exitCode = 1;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') {
  main().catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
