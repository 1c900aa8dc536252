/**
 * Metrics across worker processes: any worker's GET /metrics asks the supervisor, which gathers every worker's
 * registry with prom-client's AggregatorRegistry and answers over IPC. A scrape through a load balancer then sees
 * the whole service, not whichever worker it happened to reach.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

interface MetricsRequest { type: 'pixelpress:metrics'; id: string }
interface MetricsResponse { type: 'pixelpress:metrics-result'; id: string; text?: string; error?: string }

/** In the supervisor: answer workers' metrics requests. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsRequest) => {
    if (message?.type !== 'pixelpress:metrics') return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: 'pixelpress:metrics-result', id: message.id, text } satisfies MetricsResponse),
      (err: Error) => worker.send({ type: 'pixelpress:metrics-result', id: message.id, error: err.message } satisfies MetricsResponse),
    );
  });
}

/** In a worker: offer `registry` to the supervisor's aggregation and return a function fetching the cluster's metrics. */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  // Constructing one is what installs prom-client's worker-side listener for the supervisor's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  return () =>
    new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        process.off('message', onMessage);
        reject(new Error('supervisor did not answer the metrics request'));
      }, 5_000);
      const onMessage = (message: MetricsResponse) => {
        if (message?.type !== 'pixelpress:metrics-result' || message.id !== id) return;
        clearTimeout(timer);
        process.off('message', onMessage);
        if (message.text !== undefined) resolve(message.text);
        else reject(new Error(message.error ?? 'metrics aggregation failed'));
      };
      process.on('message', onMessage);
      process.send!({ type: 'pixelpress:metrics', id } satisfies MetricsRequest);
    });
}
