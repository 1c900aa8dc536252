/**
 * Reading the upload, always into memory: a streamed multipart file part (fields img, file or image) or a raw
 * body. Bytes are counted while they arrive and the request is refused as soon as the limit is crossed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ImageError } from '../core/errors.js';

export const fileFields = ['img', 'file', 'image'] as const;

/** Raw bodies of any non-multipart type are buffered here; the bytes, not the header, decide what the image is. */
export function registerRawBodyParser(app: FastifyInstance, maxBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) => {
    done(null, body);
  });
}

export async function readUpload(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (request.isMultipart()) {
    // Read every part: a second file must be refused (files: 1 makes the iterator throw FST_FILES_LIMIT), not ignored.
    let data: Buffer | undefined;
    let wrongField: string | undefined;
    for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 1, fields: 20, parts: 30 } })) {
      if (part.type !== 'file') continue;
      if (!(fileFields as readonly string[]).includes(part.fieldname)) {
        wrongField ??= part.fieldname;
        part.file.resume();
        continue;
      }
      // toBuffer() throws FST_REQ_FILE_TOO_LARGE the moment the part crosses fileSize.
      data = await part.toBuffer();
    }
    if (data === undefined) {
      if (wrongField !== undefined) {
        throw new ImageError('PP_MISSING_FILE', `Expected the image in multipart field img, file or image but received field ${JSON.stringify(wrongField)}`);
      }
      throw new ImageError('PP_MISSING_FILE', `No file in the multipart body: send the image in field ${fileFields.join(', ')}`);
    }
    if (data.length === 0) throw new ImageError('PP_MISSING_FILE', 'The uploaded file is empty');
    return data;
  }
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new ImageError('PP_MISSING_FILE', 'No image in the request: POST multipart/form-data with field img (or file), or the raw image bytes');
  }
  return body;
}
