/**
 * GET /playground: a page to try operations in a browser. Its files (plain HTML, CSS and JS in the package's
 * playground/ folder) are read once when the app is built and served from memory, so a request never reads the disk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { problemFor, sendProblem } from '../problem.js';

// src/http/routes/ under tsx and dist/http/routes/ when built are both three levels below the package root.
const folder = new URL('../../../playground/', import.meta.url);

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** Every file of the folder with a known type, by name; empty when the folder is missing (a trimmed install). */
function loadAssets(): Map<string, Asset> {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return new Map();
  }
  const assets = new Map<string, Asset>();
  for (const name of names) {
    const type = types[name.slice(name.lastIndexOf('.'))];
    if (type) assets.set(name, { type, body: readFileSync(new URL(name, folder)) });
  }
  return assets;
}

export async function playgroundRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets();
  const page = assets.get('index.html');
  if (!page) {
    app.log.warn({ folder: folder.pathname }, 'playground files not found: GET /playground is not served');
    return;
  }
  // no-cache: a browser revalidates, so an upgraded server never runs an old page against a new API.
  app.get('/playground', async (_request, reply) => reply.type(page.type).header('Cache-Control', 'no-cache').send(page.body));
  app.get('/playground/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    // The page's URLs are relative to /playground, so /playground/ would break them: send it there (relative, so a
    // proxy's path prefix is kept).
    if (file === '') return reply.redirect('../playground', 301);
    const asset = file === 'index.html' ? undefined : assets.get(file);
    if (!asset) return sendProblem(reply, problemFor('PP_NOT_FOUND', `No playground file ${JSON.stringify(file)}`));
    return reply.type(asset.type).header('Cache-Control', 'no-cache').send(asset.body);
  });
}
