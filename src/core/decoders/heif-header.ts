/**
 * Reads a HEIF (HEVC) container's header on the main thread, in linear time: the primary item's `ispe` size and
 * `irot` rotation, its alpha item and its thumbnails. Nothing is decoded. AVIF (an AV1 HEIF) is left to sharp.
 */
import { ImageError } from '../errors.js';
import type { ContainerInfo } from './types.js';

/** Brands that announce HEVC-coded images (ISO/IEC 23008-12 Annex B); `mif1` alone needs a look at the item types. */
const hevcBrands = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);
/** A header that needs more boxes than this is not a photo; it is refused rather than walked. */
const maxBoxes = 10_000;

interface Box {
  type: string;
  /** Start of the payload and end of the box, as offsets in the file. */
  start: number;
  end: number;
}

function corrupt(why: string): ImageError {
  return new ImageError('PP_UNDECODABLE', `The HEIF header is corrupt: ${why}`);
}

function fourcc(buf: Buffer, at: number): string {
  return buf.toString('latin1', at, at + 4);
}

/** The boxes directly inside [start, end). */
function children(buf: Buffer, start: number, end: number, budget: { boxes: number }): Box[] {
  const boxes: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    if (--budget.boxes < 0) throw corrupt('too many boxes');
    let size = buf.readUInt32BE(at);
    const type = fourcc(buf, at + 4);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw corrupt(`truncated ${type} box`);
      const large = buf.readBigUInt64BE(at + 8);
      if (large > BigInt(end - at)) throw corrupt(`${type} box runs past its parent`);
      size = Number(large);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) throw corrupt(`${type} box runs past its parent`);
    boxes.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

/** The first `ftyp` brand list says whether this is a HEIF file at all, and whether it claims HEVC. */
function brands(buf: Buffer): string[] | undefined {
  if (buf.length < 16 || fourcc(buf, 4) !== 'ftyp') return undefined;
  const size = buf.readUInt32BE(0);
  if (size < 16 || size > Math.min(buf.length, 4096)) return undefined;
  const list = [fourcc(buf, 8)];
  for (let at = 16; at + 4 <= size; at += 4) list.push(fourcc(buf, at));
  return list;
}

/** Whether the bytes are a HEIF container (any codec): cheap, for sniffing. */
export function isHeifContainer(buf: Buffer): boolean {
  const list = brands(buf);
  return list !== undefined && list.some((b) => hevcBrands.has(b) || b === 'mif1' || b === 'msf1' || b === 'avif' || b === 'avis');
}

interface Item {
  type: string;
  width?: number;
  height?: number;
  rotation: number;
}

/**
 * The header of a HEVC-coded HEIF, or undefined when the file is a HEIF of another codec (AVIF) that sharp reads itself.
 * Throws PP_UNDECODABLE when the boxes do not nest, or the primary item has no size.
 */
export function readHeifHeader(buf: Buffer): ContainerInfo | undefined {
  const list = brands(buf);
  if (!list) return undefined;
  const budget = { boxes: maxBoxes };
  const top = children(buf, 0, buf.length, budget);
  const meta = top.find((b) => b.type === 'meta');
  if (!meta) throw corrupt('no meta box');
  // meta is a FullBox: 4 bytes of version and flags before its children.
  const metaBoxes = children(buf, meta.start + 4, meta.end, budget);
  const items = new Map<number, Item>();
  let primary: number | undefined;
  const refs: { type: string; from: number; to: number[] }[] = [];
  const properties: Box[] = [];
  const associations = new Map<number, number[]>();

  for (const box of metaBoxes) {
    if (box.end - box.start < 4) continue;
    const version = buf.readUInt8(box.start);
    if (box.type === 'pitm') {
      primary = version === 0 ? buf.readUInt16BE(box.start + 4) : buf.readUInt32BE(box.start + 4);
    } else if (box.type === 'iinf') {
      const first = box.start + 4 + (version === 0 ? 2 : 4);
      for (const infe of children(buf, first, box.end, budget)) {
        if (infe.type !== 'infe' || infe.end - infe.start < 12) continue;
        const infeVersion = buf.readUInt8(infe.start);
        if (infeVersion < 2) continue;
        const id = infeVersion === 2 ? buf.readUInt16BE(infe.start + 4) : buf.readUInt32BE(infe.start + 4);
        const typeAt = infe.start + 4 + (infeVersion === 2 ? 2 : 4) + 2;
        if (typeAt + 4 > infe.end) throw corrupt('truncated infe box');
        items.set(id, { type: fourcc(buf, typeAt), rotation: 0 });
      }
    } else if (box.type === 'iref') {
      for (const ref of children(buf, box.start + 4, box.end, budget)) {
        const idSize = version === 0 ? 2 : 4;
        const read = (at: number) => (idSize === 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at));
        if (ref.start + idSize + 2 > ref.end) throw corrupt(`truncated ${ref.type} reference`);
        const from = read(ref.start);
        const count = buf.readUInt16BE(ref.start + idSize);
        if (ref.start + idSize + 2 + count * idSize > ref.end) throw corrupt(`truncated ${ref.type} reference`);
        const to = Array.from({ length: count }, (_, i) => read(ref.start + idSize + 2 + i * idSize));
        refs.push({ type: ref.type, from, to });
      }
    } else if (box.type === 'iprp') {
      for (const part of children(buf, box.start, box.end, budget)) {
        if (part.type === 'ipco') properties.push(...children(buf, part.start, part.end, budget));
        if (part.type === 'ipma') readAssociations(buf, part, associations);
      }
    }
  }

  if (primary === undefined) throw corrupt('no primary item');
  const isHevc = (id: number): boolean => {
    const type = items.get(id)?.type;
    if (type === 'hvc1') return true;
    // A grid (Apple's tiled photos) is HEVC when its tiles are.
    const tiles = refs.find((r) => r.type === 'dimg' && r.from === id)?.to;
    return (type === 'grid' || type === 'iovl') && tiles !== undefined && tiles.length > 0 && items.get(tiles[0]!)?.type === 'hvc1';
  };
  if (!isHevc(primary)) {
    // An AV1 or JPEG-coded HEIF: sharp's libheif decodes those; a file that claims HEVC and has no HEVC primary is broken.
    if (list.some((b) => hevcBrands.has(b))) throw corrupt('the primary item is not an HEVC image');
    return undefined;
  }

  for (const [id, indices] of associations) {
    const item = items.get(id);
    if (!item) continue;
    for (const index of indices) {
      const prop = properties[index - 1];
      if (!prop) throw corrupt('an item property index points past ipco');
      if (prop.type === 'ispe' && prop.end - prop.start >= 12) {
        item.width = buf.readUInt32BE(prop.start + 4);
        item.height = buf.readUInt32BE(prop.start + 8);
      } else if (prop.type === 'irot' && prop.end - prop.start >= 1) {
        item.rotation = buf.readUInt8(prop.start) & 3;
      }
    }
  }

  const displayed = (item: Item | undefined) => {
    if (!item?.width || !item.height) return undefined;
    const swap = item.rotation % 2 === 1;
    return swap ? { width: item.height, height: item.width } : { width: item.width, height: item.height };
  };
  const size = displayed(items.get(primary));
  if (!size) throw corrupt('the primary image declares no size (ispe)');
  const pointsAtPrimary = (type: string) => refs.filter((r) => r.type === type && r.to.includes(primary!)).map((r) => r.from);
  const thumbnails = pointsAtPrimary('thmb')
    .map((id) => displayed(items.get(id)))
    .filter((s): s is { width: number; height: number } => s !== undefined);
  // An auxiliary item pointing at the primary is its alpha or depth; libheif tells them apart when it decodes.
  const hasAlpha = pointsAtPrimary('auxl').length > 0;
  return { format: 'heic', ...size, pages: 1, hasAlpha, thumbnails };
}

function readAssociations(buf: Buffer, box: Box, out: Map<number, number[]>): void {
  if (box.end - box.start < 8) throw corrupt('truncated ipma box');
  const version = buf.readUInt8(box.start);
  const wideIndex = (buf.readUInt8(box.start + 3) & 1) === 1;
  const count = buf.readUInt32BE(box.start + 4);
  let at = box.start + 8;
  for (let i = 0; i < count; i++) {
    const idSize = version < 1 ? 2 : 4;
    if (at + idSize + 1 > box.end) throw corrupt('truncated ipma box');
    const id = idSize === 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
    const n = buf.readUInt8(at + idSize);
    at += idSize + 1;
    const step = wideIndex ? 2 : 1;
    if (at + n * step > box.end) throw corrupt('truncated ipma box');
    const indices: number[] = [];
    for (let k = 0; k < n; k++, at += step) indices.push(wideIndex ? buf.readUInt16BE(at) & 0x7fff : buf.readUInt8(at) & 0x7f);
    out.set(id, indices);
  }
}
