/** The OpenAPI 3 document, generated from the operation registry and the parameter and error tables. */
import { errorCatalogue, type ErrorCode } from '../core/errors.js';
import { mimeTypes } from '../core/encode.js';
import { defaultLimits } from '../core/limits.js';
import { operations, type Operation } from '../core/operations/index.js';
import type { ParamSpec } from '../core/options.js';
import { placeholderParams } from '../core/placeholder.js';
import { presetOperation, type Presets } from '../core/presets.js';
import { version } from '../version.js';
import { problemFor, statusOf } from './problem.js';

type Json = Record<string, unknown>;

/** The image routes that also take GET ?url= when remote sources are on: imaginary's (every operation, /info, /pipeline). */
export function remoteSourcePaths(): string[] {
  // GET / stays the versions document, as in imaginary: the seed's blur takes uploads only.
  return [...operations.map((operation) => operation.path).filter((path) => path !== '/'), '/info', '/pipeline'];
}

const problemRef = { $ref: '#/components/schemas/Problem' };

/** Codes an image route can answer with, by status: each response documents its own codes and a real example. */
const imageRouteCodes: readonly ErrorCode[] = [
  'PP_MISSING_FILE', 'PP_MISSING_PARAM', 'PP_INVALID_PARAM', 'PP_INVALID_PIPELINE', 'PP_BAD_REQUEST', 'PP_INVALID_SIGNATURE',
  'PP_UNAUTHORIZED', 'PP_SIGNATURE_MISMATCH', 'PP_UPLOAD_TOO_SLOW', 'PP_PAYLOAD_TOO_LARGE', 'PP_METADATA_TOO_LARGE',
  'PP_TOO_MANY_PIXELS', 'PP_OUTPUT_TOO_LARGE', 'PP_UNSUPPORTED_MEDIA', 'PP_UNSUPPORTED_CONTENT_TYPE', 'PP_UNSAFE_SVG',
  'PP_UNDECODABLE', 'PP_OVERLOADED', 'PP_TIMEOUT',
];

/** Codes only some configurations can answer: the document is the same for every server, so it says when. */
const onlyWhen: Partial<Record<ErrorCode, string>> = {
  PP_UNAUTHORIZED: 'only when the server sets PP_API_KEY',
  PP_INVALID_SIGNATURE: 'only when the server sets PP_URL_SIGNATURE_KEY',
  PP_SIGNATURE_MISMATCH: 'only when the server sets PP_URL_SIGNATURE_KEY',
};

function errorResponsesFor(codes: readonly ErrorCode[]): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(statusOf[code], [...(byStatus.get(statusOf[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => [
      status,
      {
        description: group.map((code) => `\`${code}\`: ${errorCatalogue[code].title}${onlyWhen[code] ? ` (${onlyWhen[code]})` : ''}`).join('; '),
        content: {
          'application/problem+json': {
            schema: { allOf: [problemRef, { type: 'object', properties: { code: { type: 'string', enum: group } } }] },
            example: problemFor(group[0]!, errorCatalogue[group[0]!].title),
          },
        },
      },
    ]),
  );
}

const errorResponses = errorResponsesFor(imageRouteCodes);

/** GET routes behind the API key when one is set (everything but the probes and the docs). */
const keyOnlyResponses = errorResponsesFor(['PP_UNAUTHORIZED']);
/** What a fetch can answer (docs/remote-sources.md): routes that fetch list these too. */
const remoteCodes: readonly ErrorCode[] = [
  'PP_REMOTE_DISABLED', 'PP_REMOTE_URL_INVALID', 'PP_REMOTE_ORIGIN_NOT_ALLOWED', 'PP_REMOTE_ADDRESS_REFUSED', 'PP_REMOTE_TOO_LARGE',
  'PP_REMOTE_TOO_MANY_REDIRECTS', 'PP_REMOTE_TIMEOUT', 'PP_REMOTE_STATUS', 'PP_REMOTE_UNREACHABLE',
];
const fetchingErrorResponses = errorResponsesFor([...imageRouteCodes, ...remoteCodes]);

/** Where remote sources are documented: GET image routes with ?url= and /watermarkimage. */
export interface DocumentOptions {
  /** PP_ENABLE_URL_SOURCE: image routes are also served as GET with ?url=. */
  remoteSources?: boolean;
  /** The server requires an API key (PP_API_KEY): Swagger UI then shows a lock, and sends the key, on the routes that need it. */
  apiKey?: boolean;
}

const urlParam: Json = {
  name: 'url',
  in: 'query',
  required: true,
  description: 'http or https URL of the image, fetched through the SSRF guard: PP_ALLOWED_ORIGINS, public addresses only (checked on every redirect and connection), PP_REMOTE_MAX_BYTES, PP_REMOTE_TIMEOUT_SECONDS, PP_REMOTE_MAX_REDIRECTS.',
  schema: { type: 'string', format: 'uri' },
};

/** GET twin of an image route: the same parameters and answers, the image fetched from ?url= instead of the body. */
function getFromUrl(post: Json): Json {
  const { requestBody: _body, operationId, summary, parameters, responses, ...rest } = post as Json & { parameters?: Json[]; responses: Json };
  return {
    ...rest,
    operationId: `${String(operationId)}FromUrl`,
    summary: `${String(summary)} (image fetched from url)`,
    parameters: [urlParam, ...(parameters ?? [])],
    responses: { ...responses, ...fetchingErrorResponses },
  };
}

const etagHeader = { schema: { type: 'string' }, description: 'Strong tag of this output: send it in If-None-Match with the same upload to get a 304' };

/** Every image route answers If-None-Match with its ETag by a 304, before decoding. */
const notModified: Json = { 304: { description: 'Not modified: If-None-Match named this output\'s ETag; no body', headers: { ETag: etagHeader } } };

const imageBody = (field: string): Json => ({
  required: true,
  content: {
    'multipart/form-data': {
      schema: { type: 'object', required: [field], properties: { [field]: { type: 'string', format: 'binary', description: 'The image' } } },
    },
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
    'image/*': { schema: { type: 'string', format: 'binary' } },
  },
});

const imageResponse = (description: string): Json => ({
  description,
  headers: {
    'Image-Width': { schema: { type: 'integer' }, description: 'Width of the output image' },
    'Image-Height': { schema: { type: 'integer' }, description: 'Height of the output image' },
    ETag: etagHeader,
    'Server-Timing': { schema: { type: 'string' }, description: 'Milliseconds spent receiving the upload, queued and processing: receive;dur=…, queue;dur=…, process;dur=…' },
  },
  content: Object.fromEntries(Object.values(mimeTypes).map((mime) => [mime, { schema: { type: 'string', format: 'binary' } }])),
});

function queryParam(name: string, spec: ParamSpec, required: boolean): Json {
  // Swagger UI pre-fills schema examples into Try it out, which would send e.g. aspectratio=16:9 unasked;
  // so examples go into the description instead.
  const { example, ...schema } = spec.check.schema;
  const description = example === undefined ? spec.description : `${spec.description} Example: ${String(example)}.`;
  return { name, in: 'query', required, description, schema };
}

const tags = { imaginary: 'imaginary-compatible', pillow: 'pillow', pixelpress: 'pixelpress' } as const;

function operationPost(operation: Operation): Json {
  const atLeastOne = operation.oneOf.length > 0 ? ` At least one of ${operation.oneOf.join(', ')} is required.` : '';
  const fixed = operation.outputType;
  return {
    operationId: operation.name,
    // The name of this operation as a /pipeline step; the playground builds its forms from the operations marked so.
    'x-pipeline-operation': operation.name,
    tags: [tags[operation.origin]],
    summary: operation.summary,
    description: operation.description + atLeastOne,
    parameters: Object.entries(operation.params).map(([name, spec]) => queryParam(name, spec, operation.required.includes(name))),
    requestBody: imageBody(operation.field),
    responses: {
      200: fixed
        ? { ...imageResponse(`The ${fixed.toUpperCase()} image`), content: { [mimeTypes[fixed]]: { schema: { type: 'string', format: 'binary' } } } }
        : imageResponse('The processed image'),
      ...notModified,
      ...(operation.fetches ? fetchingErrorResponses : errorResponses),
    },
  };
}

const nextcloudOperations = JSON.stringify([
  { operation: 'autorotate' },
  { operation: 'fit', params: { width: 256, height: 256, stripmeta: 'true', type: 'jpeg', norotation: 'true', quality: '80' } },
]);

/** POST /preset/{name}: the configured names, each with its steps, as the server was started with them. */
function presetPost(presets: Presets): Json {
  const names = Object.keys(presets);
  const listed = names.length === 0
    ? 'No presets are configured on this server (PP_PRESETS, PP_PRESETS_FILE).'
    : `Configured: ${names.map((name) => `\`${name}\` = \`${JSON.stringify(presets[name])}\``).join('; ')}.`;
  return {
    operationId: 'preset',
    tags: ['pixelpress'],
    summary: 'Run a named pipeline from the server\'s configuration',
    description: `Presets come from PP_PRESETS or PP_PRESETS_FILE and are checked at start-up. In /pipeline a preset is the step {"operation":"${presetOperation}","params":{"name":"…"}}. ${listed}`,
    parameters: [
      { name: 'name', in: 'path', required: true, description: 'The preset', schema: names.length > 0 ? { type: 'string', enum: names } : { type: 'string' } },
      { name: 'key', in: 'query', required: false, description: 'API key (accepted and ignored unless keys are configured)', schema: { type: 'string' } },
    ],
    requestBody: imageBody('file'),
    responses: { 200: imageResponse('The image after the preset\'s last step'), ...notModified, ...errorResponsesFor([...imageRouteCodes, 'PP_NOT_FOUND']) },
  };
}

export function buildOpenApiDocument(presets: Presets = {}, options: DocumentOptions = {}): Json {
  const paths: Json = {
    '/': {
      get: {
        operationId: 'version',
        tags: ['service'],
        summary: 'Versions (imaginary-compatible)',
        responses: { 200: { description: 'Versions of pixelpress, sharp and libvips', content: { 'application/json': { schema: { type: 'object' } } } }, ...keyOnlyResponses },
      },
    },
    '/health': {
      // Open even when an API key is configured, for load balancers' probes: no lock in Swagger UI.
      get: { operationId: 'health', tags: ['service'], summary: 'Liveness', security: [], responses: { 200: { description: 'The service is up' } } },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        security: [],
        tags: ['service'],
        summary: 'Readiness: 503 while draining, when every slot and queue place is taken, or when the receive gate is full',
        responses: { 200: { description: 'Ready for work' }, 503: { description: 'Draining or saturated' } },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: ['service'],
        summary: 'Prometheus metrics, aggregated over all workers',
        responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...keyOnlyResponses },
      },
    },
    '/problems/{code}': {
      get: {
        operationId: 'problem',
        tags: ['service'],
        summary: 'What an error code means: the page an error\'s `type` points at',
        parameters: [{ name: 'code', in: 'path', required: true, description: 'A stable error code', schema: { type: 'string', enum: Object.keys(errorCatalogue) } }],
        responses: {
          200: { description: 'The code, its status, title and description', content: { 'application/json': { schema: { $ref: '#/components/schemas/ProblemType' } } } },
          ...errorResponsesFor(['PP_UNAUTHORIZED', 'PP_NOT_FOUND']),
        },
      },
    },
    '/info': {
      post: {
        operationId: 'info',
        tags: ['imaginary-compatible'],
        summary: 'Image metadata as JSON',
        requestBody: imageBody('file'),
        responses: {
          200: { description: 'width, height, type, space, hasAlpha, hasProfile, channels, orientation', content: { 'application/json': { schema: { $ref: '#/components/schemas/Info' } } } },
          ...errorResponses,
        },
      },
    },
    '/pipeline': {
      post: {
        operationId: 'pipeline',
        tags: ['imaginary-compatible'],
        summary: `Run up to ${defaultLimits.maxPipelineSteps} operations in order`,
        description: 'operations is a JSON array of {"operation", "params", "ignore_failure"}; each step reads the previous step\'s result. The example is what Nextcloud sends.',
        parameters: [
          { name: 'operations', in: 'query', required: true, description: 'JSON array of steps', schema: { type: 'string', example: nextcloudOperations } },
          { name: 'key', in: 'query', required: false, description: 'API key (accepted and ignored unless keys are configured)', schema: { type: 'string' } },
        ],
        requestBody: imageBody('file'),
        responses: { 200: imageResponse('The image after the last step'), ...notModified, ...fetchingErrorResponses },
      },
    },
    '/preset/{name}': { post: presetPost(presets) },
    '/placeholder': {
      post: {
        operationId: 'placeholder',
        tags: ['pixelpress'],
        summary: 'A placeholder to show while the image loads: BlurHash, ThumbHash or a tiny WebP (LQIP)',
        description:
          'blurhash and thumbhash answer JSON {type, width, height, hash} (a ThumbHash is base64), width and height being the ' +
          "image's as displayed (after its EXIF orientation). lqip answers the WebP itself, at most size pixels on its longest side, " +
          'or with format=json {type, width, height, placeholderWidth, placeholderHeight, dataUri}.',
        parameters: Object.entries(placeholderParams).map(([name, spec]) => queryParam(name, spec, name === 'type')),
        requestBody: imageBody('file'),
        responses: {
          200: {
            description: 'The placeholder',
            headers: { ETag: etagHeader },
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/Placeholder' } },
              'image/webp': { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...notModified,
          ...errorResponses,
        },
      },
    },
  };
  for (const operation of operations) paths[operation.path] = { ...(paths[operation.path] as Json | undefined), post: operationPost(operation) };
  if (options.remoteSources) {
    for (const path of remoteSourcePaths()) {
      const methods = paths[path] as { post: Json };
      paths[path] = { get: getFromUrl(methods.post), ...methods };
    }
  }

  return {
    openapi: '3.0.3',
    info: {
      title: 'pixelpress',
      version,
      description:
        'In-memory image processing: the FastAPI Pillow-BLUR example at POST /, and the HTTP API of h2non/imaginary. ' +
        'Every image route takes multipart/form-data (field file, img or image) or the raw image bytes as the body. ' +
        'Errors are application/problem+json with a stable `code` (see /problems/{code}).',
    },
    paths,
    // Only a server with a key declares one: Swagger UI draws a lock on every operation with a security requirement,
    // and sends the key it was given only to those. The probes opt out above.
    ...(options.apiKey ? { security: [{ apiKey: [] }] } : {}),
    components: {
      ...(options.apiKey
        ? { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'API-Key', description: 'The key this server was started with (PP_API_KEY); also accepted as ?key=' } } }
        : {}),
      schemas: {
        ProblemType: {
          type: 'object',
          required: ['code', 'status', 'title', 'description'],
          properties: { code: { type: 'string' }, status: { type: 'integer' }, title: { type: 'string' }, description: { type: 'string' } },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code', 'message'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string', enum: Object.keys(errorCatalogue) },
            message: { type: 'string', description: 'Same as detail: the key imaginary clients read' },
          },
        },
        Placeholder: {
          type: 'object',
          required: ['type', 'width', 'height'],
          properties: {
            type: { type: 'string', enum: ['blurhash', 'thumbhash', 'lqip'] }, width: { type: 'integer' }, height: { type: 'integer' },
            hash: { type: 'string' }, placeholderWidth: { type: 'integer' }, placeholderHeight: { type: 'integer' }, dataUri: { type: 'string' },
          },
        },
        Info: {
          type: 'object',
          properties: {
            width: { type: 'integer' }, height: { type: 'integer' }, type: { type: 'string' }, space: { type: 'string' },
            hasAlpha: { type: 'boolean' }, hasProfile: { type: 'boolean' }, channels: { type: 'integer' }, orientation: { type: 'integer' },
          },
        },
      },
    },
    'x-error-codes': Object.fromEntries(Object.entries(errorCatalogue).map(([code, entry]) => [code, { status: statusOf[code as keyof typeof statusOf], ...entry }])),
  };
}
