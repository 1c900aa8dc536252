/** What running steps gives back: in this process (pipeline.ts) or from the isolated child (encoders/), alike. */
import type { OutputType } from './params.js';

export interface RunResult {
  data: Buffer;
  type: OutputType;
  mime: string;
  width: number;
  height: number;
  /** True when type=auto chose the format, so the answer depends on Accept. */
  negotiated: boolean;
  /** From run(): parameters that no step used (checked, never applied); the HTTP layer sends them as PP-Ignored-Params. */
  ignored?: readonly string[];
}
