/**
 * RFC 9457 problem+json: the only place an error code becomes an HTTP status. Every body also carries
 * imaginary's `message` key, which Nextcloud logs. Unexpected errors become a generic 500 and are logged, never sent.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalogue, ImageError, type ErrorCode } from '../core/errors.js';
import { statsOf } from './state.js';

export const statusOf: Readonly<Record<ErrorCode, number>> = {
  PP_MISSING_FILE: 400,
  PP_MISSING_PARAM: 400,
  PP_INVALID_PARAM: 400,
  PP_INVALID_PIPELINE: 400,
  PP_BAD_REQUEST: 400,
  PP_INVALID_SIGNATURE: 400,
  PP_UNAUTHORIZED: 401,
  PP_SIGNATURE_MISMATCH: 403,
  PP_NOT_FOUND: 404,
  PP_METHOD_NOT_ALLOWED: 405,
  PP_UPLOAD_TOO_SLOW: 408,
  PP_PAYLOAD_TOO_LARGE: 413,
  PP_METADATA_TOO_LARGE: 413,
  PP_TOO_MANY_PIXELS: 413,
  PP_OUTPUT_TOO_LARGE: 413,
  PP_UNSUPPORTED_MEDIA: 415,
  PP_UNSUPPORTED_CONTENT_TYPE: 415,
  PP_UNSAFE_SVG: 415,
  PP_UNDECODABLE: 422,
  PP_CLIENT_GONE: 499,
  PP_OVERLOADED: 503,
  PP_INTERNAL: 500,
  PP_TIMEOUT: 503,
  PP_REMOTE_DISABLED: 403,
  PP_REMOTE_URL_INVALID: 400,
  PP_REMOTE_ORIGIN_NOT_ALLOWED: 403,
  PP_REMOTE_ADDRESS_REFUSED: 403,
  PP_REMOTE_TOO_LARGE: 422,
  PP_REMOTE_TOO_MANY_REDIRECTS: 422,
  // The remote server was slow, not the client: a gateway's timeout (docs/remote-sources.md).
  PP_REMOTE_TIMEOUT: 504,
  // The documented status; the answer passes on the remote's own (see remoteStatus).
  PP_REMOTE_STATUS: 502,
  PP_REMOTE_UNREACHABLE: 400,
};

/** imaginary's mapping of a remote error status: kept when it is 400-511, else 503 (source_http.go). */
export function remoteStatus(upstream: number | undefined): number {
  return upstream !== undefined && upstream >= 400 && upstream <= 511 ? upstream : 503;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  /** imaginary's error key, kept so its clients log something useful. */
  message: string;
}

export function problemFor(code: ErrorCode, detail: string, status = statusOf[code]): Problem {
  return { type: `/problems/${code}`, title: errorCatalogue[code].title, status, detail, code, message: detail };
}

/** Errors raised by Fastify and its plugins before our handler runs, by their stable codes. */
const frameworkCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PP_PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'PP_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'PP_UNSUPPORTED_CONTENT_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'PP_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'PP_BAD_REQUEST',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'PP_UNSUPPORTED_CONTENT_TYPE',
  FST_FILES_LIMIT: 'PP_BAD_REQUEST',
  FST_PARTS_LIMIT: 'PP_BAD_REQUEST',
  FST_FIELDS_LIMIT: 'PP_BAD_REQUEST',
  FST_PROTO_VIOLATION: 'PP_BAD_REQUEST',
  FST_ERR_VALIDATION: 'PP_INVALID_PARAM',
  FST_ERR_BAD_URL: 'PP_BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'PP_BAD_REQUEST',
};

const frameworkDetails: Readonly<Record<string, string>> = {
  FST_FILES_LIMIT: 'Send exactly one file per request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type: send multipart/form-data or the raw image bytes',
  // Fastify's own messages quote the whole URL, query (and so an API key) included: never echo or log it.
  FST_ERR_BAD_URL: 'The request URL is not valid: a %-escape is malformed or the target is not a path',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is longer than the router accepts',
};

function toProblem(error: unknown): { problem: Problem; internal: boolean } {
  if (error instanceof ImageError) {
    const status = error.code === 'PP_REMOTE_STATUS' ? remoteStatus(error.upstreamStatus) : statusOf[error.code];
    return { problem: problemFor(error.code, error.detail, status), internal: error.code === 'PP_INTERNAL' };
  }
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code ? frameworkCodes[fastifyError.code] : undefined;
  if (mapped) {
    return { problem: problemFor(mapped, frameworkDetails[fastifyError.code!] ?? fastifyError.message ?? errorCatalogue[mapped].title), internal: false };
  }
  // Busboy's parse errors (a broken boundary, a truncated part) carry no code but are the client's fault.
  const status = fastifyError.statusCode ?? 0;
  if (status >= 400 && status < 500) return { problem: problemFor('PP_BAD_REQUEST', fastifyError.message ?? 'Malformed request'), internal: false };
  if (error instanceof Error && /multipart|boundary|Unexpected end of form|Malformed part header/i.test(error.message)) {
    return { problem: problemFor('PP_BAD_REQUEST', `Malformed multipart body: ${error.message}`), internal: false };
  }
  return { problem: problemFor('PP_INTERNAL', 'Internal server error'), internal: true };
}

/** Seconds a client is asked to wait after a 503: one image's processing time is well under that. */
const RETRY_AFTER_SECONDS = 1;

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.code === 'PP_OVERLOADED' || problem.code === 'PP_TIMEOUT') reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
  statsOf(reply.request).problem = problem.code;
  // The rest of an oversized body is not worth reading: close after answering. A 503 for load keeps the connection:
  // closing with the body unread made the kernel reset it, and some clients then saw a reset instead of the 503
  // (2 in 3,270 under npm run stress).
  // A too slow upload is ended: its rest is not waited for, and the connection is not kept for another request.
  if (problem.code === 'PP_PAYLOAD_TOO_LARGE' || problem.code === 'PP_UPLOAD_TOO_SLOW') reply.header('Connection', 'close');
  // Set here as well as by the access plugin: Fastify's framework errors (a bad URL) skip the route's hooks.
  reply.header('X-Content-Type-Options', 'nosniff');
  // Under the plugin's prefix the problem pages are at {prefix}/problems/{code}.
  const prefix = reply.server.prefix;
  const body = prefix && problem.type.startsWith('/') ? { ...problem, type: `${prefix}${problem.type}` } : problem;
  return reply.code(problem.status).type('application/problem+json').send(body);
}

/**
 * `curl -d @photo.jpg` sends the file form-encoded: newlines dropped, so libvips reads garbage. When such a body
 * cannot be decoded, the answer says what to type instead.
 */
function withUploadHint(problem: Problem, request: FastifyRequest): Problem {
  const formEncoded = /^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '');
  if (!formEncoded || (problem.code !== 'PP_UNDECODABLE' && problem.code !== 'PP_UNSUPPORTED_MEDIA')) return problem;
  const detail = `${problem.detail}. The body was sent form-encoded (curl -d), which corrupts binary files: send it with curl --data-binary @file, or as multipart with curl -F img=@file`;
  return { ...problem, detail, message: detail };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { problem: plain, internal } = toProblem(error);
  const problem = withUploadHint(plain, request);
  if (internal) request.log.error({ err: error }, 'unhandled error');
  else request.log.info({ code: problem.code, detail: problem.detail }, 'request rejected');
  return sendProblem(reply, problem);
}

/** Node's own refusals, by the code of the error it hands to `clientError`. */
function clientProblem(error: NodeJS.ErrnoException & { reason?: unknown }): Problem {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return problemFor('PP_UPLOAD_TOO_SLOW', 'The request (headers and body) did not arrive within the time limit');
    case 'HPE_HEADER_OVERFLOW':
      return problemFor('PP_BAD_REQUEST', 'The request headers are larger than the server accepts');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return problemFor('PP_PAYLOAD_TOO_LARGE', 'The chunk extensions of the request body are larger than the server accepts');
    default: {
      // llhttp's reasons are fixed phrases ("Invalid method encountered"); never the request's own bytes.
      const reason = typeof error.reason === 'string' && /^[\x20-\x7e]{1,100}$/.test(error.reason) ? `: ${error.reason}` : '';
      return problemFor('PP_BAD_REQUEST', `Malformed HTTP request${reason}`);
    }
  }
}

/**
 * Fastify's clientErrorHandler: Node refuses a malformed request (bad request line or header, a timeout) before any
 * route runs, so the answer is written on the raw socket, as problem+json with the security headers, and the
 * connection is closed. Like Node's default, nothing is written once a response has started on the socket.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection is already gone; there is no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem = clientProblem(error);
  // The error's rawPacket holds the request's bytes, an API key among them: only the codes are logged.
  this.log.info({ code: problem.code, nodeCode: error.code }, 'malformed request refused');
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}
