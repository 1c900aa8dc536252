/** What the service must answer to a hostile input: the statuses allowed, the codes, the time bound. */

export interface Expectation {
  /** The one acceptable status. */
  status?: number;
  /** Any of these statuses is acceptable (e.g. 200 or 422 for a bit-flipped JPEG that may still decode). */
  statuses?: readonly number[];
  /** The problem+json `code` when the answer is an error. */
  code?: string;
  /** When 200 is acceptable: the output must be one flat colour (nothing from a file or URL was rendered). */
  blank?: boolean;
  /** When 200 is acceptable: the input's own MIME type (routes that keep the format answer with it). */
  mime?: string;
  /** Milliseconds within which the answer must arrive. */
  withinMs?: number;
  /**
   * What the README promises, when that is stricter than the safety bar above (e.g. an SVG with entities is
   * documented as 415 PP_UNSAFE_SVG; any 4xx is safe). Checked as a separate test, so a wrong code is not confused
   * with a security failure.
   */
  documented?: { status: number; code: string };
}

export interface HostileInput {
  name: string;
  body: Buffer;
  /** Raw body: the request Content-Type. Multipart: the part's Content-Type (request bodies: the request's). */
  contentType?: string;
  /** Multipart filename for image payloads. */
  filename?: string;
  expect: Expectation;
}

export function acceptableStatuses(expect: Expectation): readonly number[] {
  if (expect.statuses) return expect.statuses;
  if (expect.status !== undefined) return [expect.status];
  throw new Error('an expectation needs status or statuses');
}

/** Default bound on how long any hostile answer may take. Generous: the point is "not minutes, not never". */
export const DEFAULT_WITHIN_MS = 10_000;
