/** Which routes access control leaves open, by route pattern (so `/health/../resize` tricks cannot reach them). */

/**
 * GET/HEAD routes load balancers and orchestrators probe: open even when an API key is set. imaginary guards /health
 * too, but a probe that needs the secret is a probe that gets the secret in its config; these answer no image.
 */
export const probeRoutes = new Set(['/health', '/ready']);

/** The API's own description, static and secret-free: open so a browser can load /docs and authorise from it. */
export function isPublicDocs(route: string): boolean {
  return route === '/openapi.json' || route === '/docs' || route.startsWith('/docs/');
}

/**
 * GET/HEAD routes that serve no image, so take no URL signature (imaginary exempts /, /health and /form). Matched on
 * the route pattern, so `/health/../resize` tricks cannot reach them. Every other route needs `sign`: a new route is
 * signed until listed here (fail closed).
 */
export function servesNoImage(route: string): boolean {
  return route === '/' || probeRoutes.has(route) || route === '/metrics' || route === '/openapi.json' ||
    route === '/docs' || route.startsWith('/docs/') || route.startsWith('/problems/');
}

/**
 * A route pattern as the rules above see it: without the prefix the plugin was registered under (`/img/health` is
 * `/health`). Fastify registers a prefix's `/` as `/img` too.
 */
export function localRoute(prefix: string, route: string | undefined): string | undefined {
  if (route === undefined || prefix === '' || !route.startsWith(prefix)) return route;
  return route.slice(prefix.length) || '/';
}
