/** An expected, client-facing decode failure inside the worker: its code and detail cross back to the main thread. */
import type { DecodeReply } from './types.js';

export type FailureCode = Extract<DecodeReply, { ok: false }>['code'];

export class DecodeFailure extends Error {
  constructor(
    readonly code: FailureCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}
