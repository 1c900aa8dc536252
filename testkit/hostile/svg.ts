/** Hostile SVGs: external references, scripts, entity tricks, svgz bombs. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';

export const svgs = {
  /** XXE: an external entity pointing at /etc/passwd, used in visible text. */
  externalEntity: () =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n` +
    `<svg ${SVG_NS} width="400" height="200"><text x="4" y="20" font-size="14" fill="#000">&x;</text></svg>`,
  /** librsvg's XInclude, as text: the route of CVE-2023-38633. */
  xinclude: () =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<svg ${SVG_NS} xmlns:xi="http://www.w3.org/2001/XInclude" width="400" height="200">` +
    `<text x="4" y="20" font-size="14" fill="#000"><xi:include href="file:///etc/passwd" parse="text"/></text></svg>`,
  /** An <image> reading a local file. */
  fileImage: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><image x="0" y="0" width="64" height="64" href="${url}" xlink:href="${url}"/></svg>`,
  /** An <image> fetching from the network (SSRF). */
  remoteImage: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><image x="0" y="0" width="64" height="64" href="${url}" xlink:href="${url}"/></svg>`,
  /** Billion laughs: 10^9 "lol"s from under 1 KB. */
  billionLaughs: () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    return (
      `<?xml version="1.0"?>\n<!DOCTYPE svg [\n${entities.join('\n')}\n]>\n` +
      `<svg ${SVG_NS} width="200" height="50"><text x="0" y="20" font-size="10">&lol9;</text></svg>`
    );
  },
  /** An external image hidden from a text scan by a CSS escape (u\72 l is url); CSS reads it as url(). */
  cssEscapedUrl: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><rect width="64" height="64" style="fill: u\\72 l('${url}')"/></svg>`,
  /** A 200000x200000 canvas: 40 GP declared in a few bytes. */
  hugeCanvas: () => `<svg ${SVG_NS} width="200000" height="200000"><rect width="100%" height="100%" fill="#c00"/></svg>`,
};

/** Any 4xx a refusal might reasonably use. */
export const clientErrors: readonly number[] = [400, 413, 415, 422];

/** An svgz whose XML holds a comment of `megabytes` MB of spaces: ~1000:1, so 300 MB is ~300 KB on the wire. */
export async function svgzBomb(megabytes: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9, strategy: zlib.constants.Z_RLE });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  gzip.write(`<svg ${SVG_NS} width="64" height="64"><!--`);
  const spaces = Buffer.alloc(1 << 20, 0x20);
  for (let i = 0; i < megabytes; i++) {
    if (!gzip.write(spaces)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end('--><rect width="64" height="64" fill="#c00"/></svg>');
  await done;
  return Buffer.concat(out);
}

/** A real PNG on this machine (shipped with a dependency), for an SVG that tries to embed a local file. */
export function localPngPath(): string | undefined {
  const candidate = fileURLToPath(new URL('../node_modules/@fastify/swagger-ui/static/favicon-32x32.png', import.meta.url));
  return existsSync(candidate) ? candidate : undefined;
}
