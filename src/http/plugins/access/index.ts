/**
 * Access control, each part off unless configured: imaginary's API key and URL signatures, and a CORS allowlist.
 * Security headers are always on. The checks run in onRequest, before the body is read, so a refused client never
 * gets to stream a 50 MiB upload, and before any image work is queued.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ErrorCode } from '../../../core/errors.js';
import { problemFor, sendProblem } from '../../problem.js';
import { apiKeyCheck } from './api-key.js';
import { checkCorsOrigins, registerCors } from './cors.js';
import { isPublicDocs, localRoute, probeRoutes, servesNoImage } from './routes.js';
import { addSecurityHeaders } from './security-headers.js';
import { checkSignatureKey, signatureProblem } from './url-signature.js';

export interface AccessOptions {
  /** imaginary's -key: required in the API-Key header or the key query parameter. */
  apiKey?: string | undefined;
  /** imaginary's -url-signature-key (at least 32 characters): HMAC-SHA256 `sign` on image routes. */
  urlSignatureKey?: string | undefined;
  /** Origins allowed by CORS; empty means no CORS headers. */
  corsOrigins?: readonly string[] | undefined;
}

/** Throws on options that would silently weaken or break access control; server config calls it too, to fail at start. */
export function checkAccessOptions(options: AccessOptions): void {
  checkSignatureKey(options.urlSignatureKey);
  checkCorsOrigins(options.corsOrigins ?? []);
}

const details: Partial<Record<ErrorCode, string>> = {
  PP_UNAUTHORIZED: 'Invalid or missing API key',
  PP_INVALID_SIGNATURE: 'Invalid URL signature',
  PP_SIGNATURE_MISMATCH: 'URL signature mismatch',
};

function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode): FastifyReply {
  request.log.info({ code }, 'request refused by access control');
  return sendProblem(reply, problemFor(code, details[code] ?? code));
}

export const accessPlugin = fp<AccessOptions>(
  async (app, options) => {
    checkAccessOptions(options);
    const { apiKey, urlSignatureKey, corsOrigins = [] } = options;
    const varyOnOrigin = await registerCors(app, corsOrigins);
    const hasKey = apiKey ? apiKeyCheck(apiKey) : undefined;

    app.addHook('onRequest', async (request, reply) => {
      const route = localRoute(app.prefix, request.routeOptions.url);
      const readOnly = request.method === 'GET' || request.method === 'HEAD';
      // As in imaginary, the signature is checked first, on image routes only; an unmatched URL (404/405) serves nothing.
      if (urlSignatureKey && route !== undefined && !(readOnly && servesNoImage(route))) {
        const problem = signatureProblem(request.url, urlSignatureKey);
        if (problem) return refuse(request, reply, problem);
      }
      // With no key configured nothing is read, so Nextcloud's empty `&key=` is ignored.
      if (hasKey && !(readOnly && route !== undefined && (probeRoutes.has(route) || isPublicDocs(route))) && !hasKey(request)) {
        return refuse(request, reply, 'PP_UNAUTHORIZED');
      }
    });

    app.addHook('onSend', async (_request, reply, payload) => {
      addSecurityHeaders(reply);
      varyOnOrigin(reply);
      return payload;
    });
  },
  { name: 'pixelpress-access', fastify: '5.x' },
);
