/**
 * The Dockerfile, compose file and Kubernetes manifests agree with the code: the port the service listens on, the
 * environment names it reads (found by watching configFromEnv read them), the probe paths (answered by the real
 * app), the drain time against the shutdown grace, the user, and the read-only filesystem.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildApp } from '../../src/http/app.js';
import { limitEnv } from '../../src/core/limits.js';
import { configEnvNames, configFromEnv } from '../../src/process/config.js';
import { commandOf, copyOperands, envPairs, healthcheckOptions, stages } from '../../scripts/dockerfile.js';
import { jemallocConf } from '../../scripts/service-env.mjs';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The supervisor waits PP_SHUTDOWN_GRACE_SECONDS + 2 s for its workers before it exits anyway (supervisor.ts). */
const SUPERVISOR_MARGIN_SECONDS = 2;
/** The node images' `node` user. */
const NODE_UID = 1000;

/** Names the process reads besides configFromEnv's: the runtime's and the allocator's, each for a reason. */
const runtimeEnv = new Set([
  'NODE_ENV', // libraries' production mode
  'LD_PRELOAD', // jemalloc
  'MALLOC_CONF', // jemalloc's settings (scripts/start.mjs)
  'MALLOC_ARENA_MAX', // glibc's fallback (docs/deploy.md)
  'MALLOC_MMAP_THRESHOLD_',
  'MALLOC_TRIM_THRESHOLD_',
  'UV_THREADPOOL_SIZE', // libuv's pool, which sharp's async calls use
  'FONTCONFIG_FILE', // src/process/fontconfig.ts
]);

const dockerStages = stages(read('Dockerfile'));
const finalStage = dockerStages.at(-1)!;
const last = (keyword: string) => finalStage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.args;
const imageEnv = Object.fromEntries(finalStage.instructions.filter((instruction) => instruction.keyword === 'ENV').flatMap((instruction) => envPairs(instruction.args)));

const k8sDocs = readdirSync(join(root, 'deploy/kubernetes'))
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(read(`deploy/kubernetes/${file}`)).map((doc) => doc.toJS() as Record<string, any>));
const byKind = (kind: string) => {
  const doc = k8sDocs.find((item) => item.kind === kind);
  assert.ok(doc, `deploy/kubernetes has a ${kind}`);
  return doc;
};
const deployment = byKind('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const podEnv: Record<string, string> = Object.fromEntries(container.env.filter((item: any) => 'value' in item).map((item: any) => [item.name, item.value]));
const compose = parseAllDocuments(read('deploy/compose.yaml'))[0]!.toJS() as Record<string, any>;
const service = compose.services.pixelpress;

test('every environment name in the Dockerfile, compose file and Deployment is one the service reads', () => {
  const known = new Set([...new Set(configEnvNames()), ...runtimeEnv]);
  // limitEnv is a subset of what configFromEnv reads: a limit missing there would not be configurable at all.
  for (const name of Object.values(limitEnv)) assert.ok(known.has(name), `${name} is read by configFromEnv`);
  const sources: [string, string[]][] = [
    ['Dockerfile', Object.keys(imageEnv)],
    ['deploy/compose.yaml', Object.keys(service.environment)],
    ['deploy/kubernetes Deployment', container.env.map((item: { name: string }) => item.name)],
  ];
  for (const [source, names] of sources) {
    for (const name of names) assert.ok(known.has(name), `${source} sets ${name}, which nothing reads (typo?)`);
  }
});

test('the configured values are ones the service accepts, and size it explicitly', () => {
  const fromPod = configFromEnv({ ...imageEnv, ...podEnv });
  assert.equal(fromPod.workers, 1);
  // A pod sees the node's cores: without these the defaults would follow a 64-core node, not the CPU limit.
  for (const name of ['PP_WORKERS', 'PP_CONCURRENCY', 'PP_SHARP_CONCURRENCY', 'UV_THREADPOOL_SIZE']) {
    assert.ok(podEnv[name], `the Deployment sets ${name}`);
    assert.ok(service.environment[name] || name === 'UV_THREADPOOL_SIZE', `compose sets ${name}`);
  }
  const fromCompose = configFromEnv({ ...imageEnv, ...service.environment });
  assert.equal(fromCompose.host, '0.0.0.0');
});

test('the image runs jemalloc with the MALLOC_CONF npm start sets (scripts/service-env.mjs)', () => {
  assert.equal(imageEnv.LD_PRELOAD, 'libjemalloc.so.2');
  assert.equal(imageEnv.MALLOC_CONF, jemallocConf);
});

test('one port everywhere: the code\'s default, EXPOSE, ENV PORT, containerPort, the Service', () => {
  const port = configFromEnv({}).port;
  assert.equal(Number(last('EXPOSE')), port);
  assert.equal(Number(imageEnv.PORT), port);
  assert.equal(configFromEnv(imageEnv).host, '0.0.0.0', 'in a container the service must listen beyond loopback');
  assert.equal(container.ports[0].containerPort, port);
  assert.equal(Number(podEnv.PORT), port);
  const svc = byKind('Service');
  assert.equal(svc.spec.ports[0].targetPort, container.ports[0].name);
  assert.deepEqual(svc.spec.selector, deployment.spec.template.metadata.labels);
  assert.equal(service.ports[0].split(':').at(-1), String(port));
});

test('the probes and the HEALTHCHECK call routes the app answers: liveness /health, readiness /ready', async () => {
  const health = commandOf(last('HEALTHCHECK') ?? '');
  assert.match(health.join(' '), /\/health\b/);
  assert.ok(healthcheckOptions(last('HEALTHCHECK') ?? '')['start-period']! > 0);
  assert.equal(container.livenessProbe.httpGet.path, '/health');
  assert.equal(container.readinessProbe.httpGet.path, '/ready');
  assert.equal(container.startupProbe.httpGet.path, '/health');
  const app = await buildApp();
  try {
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.port, container.ports[0].name);
      const answer = await app.inject({ method: 'GET', url: probe.httpGet.path });
      assert.equal(answer.statusCode, 200, `${probe.httpGet.path} answers 200`);
    }
    // Probes carry no key: both must stay open when PP_API_KEY is set (the Deployment reads it from a Secret).
    const keyed = await buildApp({ access: { apiKey: 'k'.repeat(32), corsOrigins: [] } });
    for (const path of ['/health', '/ready']) assert.equal((await keyed.inject({ method: 'GET', url: path })).statusCode, 200);
    await keyed.close();
  } finally {
    await app.close();
  }
});

test('stopping waits longer than the drain: Kubernetes grace > preStop + shutdown grace + supervisor margin', () => {
  const grace = configFromEnv({ ...imageEnv, ...podEnv }).shutdownGraceSeconds;
  const preStop = container.lifecycle.preStop.exec.command;
  assert.equal(preStop[0], 'sleep');
  assert.ok(pod.terminationGracePeriodSeconds > Number(preStop[1]) + grace + SUPERVISOR_MARGIN_SECONDS);
  assert.equal(last('STOPSIGNAL'), 'SIGTERM', 'the service drains on SIGTERM (src/process/server.ts)');
  const composeGrace = Number(/^(\d+)s$/.exec(service.stop_grace_period)?.[1]);
  assert.ok(composeGrace > configFromEnv({ ...imageEnv, ...service.environment }).shutdownGraceSeconds + SUPERVISOR_MARGIN_SECONDS);
});

test('non-root on a read-only root filesystem, everywhere', () => {
  assert.equal(last('USER'), 'node');
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, NODE_UID);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  // No writable volume: the service writes nothing (test/http/no-disk.test.ts; scripts/docker-steps.ts starts it read-only).
  assert.equal(container.volumeMounts, undefined);
  assert.equal(service.read_only, true);
  assert.equal(service.user, `${NODE_UID}:${NODE_UID}`);
});

test('requests and limits are set; the memory limit covers the measured peak (docs/deploy.md)', () => {
  const mi = (value: string) => Number(/^(\d+)Mi$/.exec(value)?.[1] ?? Number(/^(\d+)Gi$/.exec(value)?.[1]) * 1024);
  const { requests, limits } = container.resources;
  for (const key of ['cpu', 'memory']) assert.ok(requests[key] && limits[key], `${key} request and limit`);
  assert.ok(mi(limits.memory) >= mi(requests.memory));
  const measured = /<!-- k8s-peak-mb: (\d+) -->/.exec(read('docs/deploy.md'));
  assert.ok(measured, 'docs/deploy.md records the peak the limit is sized from');
  assert.ok(mi(limits.memory) >= Number(measured[1]) * 1.25, 'the limit leaves a quarter above the measured peak');
  const hpa = byKind('HorizontalPodAutoscaler');
  assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
  assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
  assert.deepEqual(byKind('PodDisruptionBudget').spec.selector.matchLabels, deployment.spec.selector.matchLabels);
});

test('the image holds only what runs: the final stage copies no sources, tests or dev tools', () => {
  const copied = finalStage.instructions.filter((instruction) => instruction.keyword === 'COPY').flatMap((instruction) => copyOperands(instruction.args).sources);
  for (const source of copied) assert.doesNotMatch(source, /(^|\/)(src|test|testkit|bench|scripts|docs)(\/|$)/);
  assert.equal(dockerStages.length, 2);
  // The CMD's entry is what tsc makes of src/process/server.ts.
  const [, entry] = commandOf(last('CMD') ?? '');
  assert.equal(entry, 'dist/process/server.js');
  assert.ok(existsSync(join(root, entry!.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))));
  const ignored = read('.dockerignore');
  for (const path of ['**/node_modules', 'dist', 'native/build', '.git']) assert.match(ignored, new RegExp(`^${path.replace(/[*.]/g, '\\$&')}$`, 'm'));
});
