/** type=auto: AVIF, then WebP, when the client lists them explicitly; otherwise the input's own format. */
import Negotiator from 'negotiator';
import type { OutputType } from '../core/params.js';

export function negotiateFromAccept(accept: string | undefined): (fallback: OutputType) => OutputType {
  // Only explicit listings count: `*/*` from curl must not turn every answer into slow AVIF.
  const listed = new Set(new Negotiator({ headers: { accept: accept ?? '' } }).mediaTypes());
  return (fallback) => {
    if (listed.has('image/avif')) return 'avif';
    if (listed.has('image/webp')) return 'webp';
    return fallback;
  };
}
