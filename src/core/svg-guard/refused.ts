/** The guard's one way to say no. */
import { ImageError } from '../errors.js';

export function refused(problem: string): never {
  throw new ImageError('PP_UNSAFE_SVG', `SVG refused: it ${problem}`);
}

/** Uploaded text quoted in a message: short, one line. */
export function quoted(text: string): string {
  const line = text.slice(0, 80).replace(/[\u0000-\u001f\u007f]/g, ' ');
  return text.length > 80 ? `${line}…` : line;
}
