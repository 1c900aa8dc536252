/** The one catalogue of error codes. Core throws ImageError; only the HTTP layer maps a code to a status. */

export const errorCatalogue = {
  PP_MISSING_FILE: {
    title: 'No image in the request',
    description: 'The request carried no image: no file part in a multipart body (fields `img`, `file` or `image`), or an empty body.',
  },
  PP_MISSING_PARAM: {
    title: 'Missing required parameter',
    description: 'The operation needs a parameter that was not given, e.g. `width` or `height` for `/fit`.',
  },
  PP_INVALID_PARAM: {
    title: 'Invalid parameter',
    description: 'A parameter has a value of the wrong type or out of range. The detail names the parameter and the value.',
  },
  PP_INVALID_PIPELINE: {
    title: 'Invalid pipeline',
    description: 'The `operations` of `/pipeline` is not a JSON array of `{operation, params, ignore_failure}`, is empty, too long, or names an unknown operation.',
  },
  PP_UNSUPPORTED_MEDIA: {
    title: 'Unsupported media type',
    description: 'The body is not an image, or not one this service reads (JPEG, PNG, WebP, AVIF, GIF, TIFF, SVG, HEIC/HEIF, PDF and Illustrator, BMP, ICO), or a PDF with scripts, forms, actions or embedded files.',
  },
  PP_UNDECODABLE: {
    title: 'Image cannot be decoded',
    description: 'The body looks like a supported format but is truncated or corrupt, so it cannot be decoded.',
  },
  PP_PAYLOAD_TOO_LARGE: {
    title: 'Upload too large',
    description: 'The upload is larger than the configured byte limit (`PP_MAX_UPLOAD_BYTES`).',
  },
  PP_TOO_MANY_PIXELS: {
    title: 'Image has too many pixels',
    description: 'The image header declares more pixels (or animation frames) than the configured limits allow; it was rejected before decoding.',
  },
  PP_OUTPUT_TOO_LARGE: {
    title: 'Output too large',
    description: 'The requested output would be wider, taller or have more pixels than the configured output limits.',
  },
  PP_METADATA_TOO_LARGE: {
    title: 'Image metadata too large',
    description: 'The image carries metadata (PNG text, ICC or EXIF chunks, WebP or JPEG metadata segments, TIFF tags pointing at the same bytes many times) whose inflated or read size is over `PP_MAX_METADATA_BYTES`; it was refused before decoding, so a small file cannot inflate to gigabytes.',
  },
  PP_UPLOAD_TOO_SLOW: {
    title: 'Upload too slow',
    description: 'The upload arrived slower than the minimum rate (`PP_MIN_UPLOAD_BYTES_PER_SECOND`) or did not finish within the body deadline, so its slot was freed for other clients.',
  },
  PP_TIMEOUT: {
    title: 'Processing timed out',
    description: 'Processing the image took longer than the configured time limit.',
  },
  PP_OVERLOADED: {
    title: 'Server busy',
    description: 'Every processing slot and queue place is taken. Retry after the number of seconds in `Retry-After`.',
  },
  PP_CLIENT_GONE: {
    title: 'Client closed the request',
    description: 'The client disconnected before its image was processed, so the work was dropped. Only seen in logs and metrics.',
  },
  PP_UNSAFE_SVG: {
    title: 'SVG refused',
    description: 'The SVG declares XML entities or references an external resource (file, network, CSS import), which pixelpress never loads; or SVG input is disabled.',
  },
  PP_METHOD_NOT_ALLOWED: {
    title: 'Method not allowed',
    description: 'The route does not serve this HTTP method. Image routes take the image in a POST body.',
  },
  PP_NOT_FOUND: {
    title: 'Not found',
    description: 'No route matches the request path.',
  },
  PP_UNSUPPORTED_CONTENT_TYPE: {
    title: 'Unsupported request Content-Type',
    description: 'Image routes take `multipart/form-data`, or a raw body (`image/*`, `application/octet-stream`, or any other non-multipart type whose bytes are an image).',
  },
  PP_BAD_REQUEST: {
    title: 'Malformed request',
    description: 'The HTTP request itself is malformed, e.g. a multipart body with a broken boundary.',
  },
  PP_INVALID_SIGNATURE: {
    title: 'Invalid URL signature',
    description: 'URL signatures are enabled and `sign` is not unpadded base64url (RFC 4648 section 5, no `=`), as imaginary requires.',
  },
  PP_UNAUTHORIZED: {
    title: 'Invalid or missing API key',
    description: 'An API key is configured and the request did not carry it in the `API-Key` header (or, when that header is absent, the `key` query parameter).',
  },
  PP_SIGNATURE_MISMATCH: {
    title: 'URL signature mismatch',
    description: 'URL signatures are enabled and `sign` is missing or is not the HMAC-SHA256 of the path and the sorted, re-encoded query (without `sign`).',
  },
  PP_REMOTE_DISABLED: {
    title: 'Remote sources are off',
    description: 'The request asks the server to fetch an image from a URL (`GET /<operation>?url=…`, `/watermarkimage?image=…`), and remote sources are off, as they are by default. Set `PP_ENABLE_URL_SOURCE=true` and `PP_ALLOWED_ORIGINS`, or send the image in the request.',
  },
  PP_REMOTE_URL_INVALID: {
    title: 'Invalid remote URL',
    description: 'The image URL does not parse, is not `http:` or `https:`, or carries a user name or password.',
  },
  PP_REMOTE_ORIGIN_NOT_ALLOWED: {
    title: 'Remote origin not allowed',
    description: 'The URL (or a redirect on the way) points at a host and path that `PP_ALLOWED_ORIGINS` does not list.',
  },
  PP_REMOTE_ADDRESS_REFUSED: {
    title: 'Remote address refused',
    description: 'The host is, or resolves to, an address that is not public unicast (loopback, private, link-local, unique-local, carrier-grade NAT, multicast, reserved, cloud metadata, or an IPv6 form embedding one). Checked on every redirect and on every connection.',
  },
  PP_REMOTE_TOO_LARGE: {
    title: 'Remote image too large',
    description: 'The remote answer declared or sent more bytes than `PP_REMOTE_MAX_BYTES`; the download was cut as soon as the limit was crossed.',
  },
  PP_REMOTE_TOO_MANY_REDIRECTS: {
    title: 'Too many redirects',
    description: 'The remote server redirected more times than `PP_REMOTE_MAX_REDIRECTS`, or sent a redirect without a usable `Location`.',
  },
  PP_REMOTE_TIMEOUT: {
    title: 'Remote fetch timed out',
    description: 'The remote server did not answer in full (every redirect, the headers and the body) within `PP_REMOTE_TIMEOUT_SECONDS`.',
  },
  PP_REMOTE_STATUS: {
    title: 'Remote server answered with an error',
    description: 'The remote server answered with a status other than 200. As in imaginary, its status is passed on when it is 400-511, else 503.',
  },
  PP_REMOTE_UNREACHABLE: {
    title: 'Remote server unreachable',
    description: 'The remote host name does not resolve, or the connection failed (refused, reset, TLS error).',
  },
  PP_INTERNAL: {
    title: 'Internal error',
    description: 'An unexpected failure inside the service. Details are logged, never sent.',
  },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class ImageError extends Error {
  readonly code: ErrorCode;
  /** Safe to show to clients: names the parameter or limit, never paths or internals. */
  readonly detail: string;
  /** PP_REMOTE_STATUS: the remote server's own status, which the HTTP layer passes on as imaginary does. */
  readonly upstreamStatus: number | undefined;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown; upstreamStatus?: number }) {
    super(detail, options);
    this.name = 'ImageError';
    this.code = code;
    this.detail = detail;
    this.upstreamStatus = options?.upstreamStatus;
  }
}

export function isImageError(err: unknown): err is ImageError {
  return err instanceof ImageError;
}
