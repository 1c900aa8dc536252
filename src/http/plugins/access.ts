/** Access control, all off unless configured: API key, imaginary URL signatures, CORS allowlist, security headers. */
import fp from 'fastify-plugin';

export interface AccessOptions {
  /** imaginary's -key: required in the API-Key header or the key query parameter. */
  apiKey?: string | undefined;
  /** imaginary's -url-signature-key (at least 32 characters): HMAC-SHA256 `sign` on image routes. */
  urlSignatureKey?: string | undefined;
  /** Origins allowed by CORS; empty means no CORS headers. */
  corsOrigins?: readonly string[] | undefined;
}

export const accessPlugin = fp<AccessOptions>(
  async () => {
    // Filled in by the access work (issue 3).
  },
  { name: 'pixelpress-access', fastify: '5.x' },
);
