/**
 * PP_ALLOWED_ORIGINS, with imaginary's -allowed-origins semantics: each entry is a host, optionally with a port and a
 * path (`https://cdn.example.com/images/`). The scheme is ignored. `*.example.com` matches example.com and every
 * subdomain. A path is a prefix: one not ending in `/` gets one (so /img does not let /img-private through), unless it
 * ends in `*`, which is dropped. Unlike imaginary, a port must match too: an entry without one allows only the
 * scheme's default port. `*` alone allows any host (the address guard still applies).
 */
export interface OriginRule {
  /** Lowercase host as the URL parser writes it; a leading `*.` matches the domain and its subdomains. */
  readonly host: string;
  /** '' for the scheme's default port, as URL.port writes it. */
  readonly port: string;
  readonly pathPrefix: string;
}

export type Origins = readonly OriginRule[] | 'any';

export function parseOrigins(entries: readonly string[]): Origins {
  if (entries.includes('*')) return 'any';
  return entries.map((entry) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `http://${entry}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new Error(`PP_ALLOWED_ORIGINS: ${JSON.stringify(entry)} is not a host or URL`);
    }
    if (url.hostname === '' || url.hostname === '*' || url.username || url.password || url.search || url.hash) {
      throw new Error(`PP_ALLOWED_ORIGINS: ${JSON.stringify(entry)} must be a host, optionally with a port and a path (use * alone to allow any host)`);
    }
    // new URL('http://a.com').pathname is '/': no path given allows the whole host.
    let pathPrefix = url.pathname;
    if (pathPrefix.endsWith('*')) pathPrefix = pathPrefix.slice(0, -1);
    else if (!pathPrefix.endsWith('/')) pathPrefix += '/';
    return { host: url.hostname, port: url.port, pathPrefix };
  });
}

function hostMatches(rule: OriginRule, hostname: string): boolean {
  if (!rule.host.startsWith('*.')) return hostname === rule.host;
  const domain = rule.host.slice(2);
  return hostname === domain || hostname.endsWith(`.${domain}`);
}

/** Whether `url` (already parsed, so its host and path are canonical) is allowed. */
export function originAllowed(origins: Origins, url: URL): boolean {
  if (origins === 'any') return true;
  return origins.some((rule) => hostMatches(rule, url.hostname) && rule.port === url.port && url.pathname.startsWith(rule.pathPrefix));
}
