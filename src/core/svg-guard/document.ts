/**
 * One XML document through saxes, fed in slices with a turn of the event loop between them. Constructs that are
 * refused wherever they appear (entities, XInclude, unknown encodings) are refused here; the URLs and CSS the
 * document carries are handed back after each slice for the caller to judge.
 */
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { ImageError } from '../errors.js';
import { refused } from './refused.js';

export type Finding = { kind: 'url'; value: string; where: string } | { kind: 'css'; css: string; where: string };

/** saxes found the document not well-formed: libxml2 (librsvg) would not load it either. */
export class MalformedXml extends Error {}

/**
 * Bytes fed to saxes between turns of the event loop: 1-3 ms at the 50-150 ms per MiB measured here, and still
 * tens of ms for the first slices a process parses, while V8 has not yet compiled saxes' loops.
 */
export const SLICE_BYTES = 16 * 1024;

/** Encodings libxml2 reads that keep every ASCII byte as itself, so a UTF-8 reading sees the same markup. */
const asciiCompatible = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii', 'iso-8859-1', 'iso_8859-1', 'latin1', 'windows-1252', 'cp1252']);

const XINCLUDE = /xinclude/i;

/** A name and a public and a system identifier fit many times over; an internal subset is refused anyway. */
const MAX_DOCTYPE_CHARS = 4096;

/** libxml2's XML_MAX_TEXT_LENGTH for one attribute value: librsvg fails on a longer one ("Resource limit exceeded"). */
const MAX_ATTRIBUTE_CHARS = 10_000_000;

const localName = (name: string): string => name.slice(name.lastIndexOf(':') + 1).toLowerCase();

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function scanDocument(xml: Buffer, judge: (found: Finding[]) => Promise<void>): Promise<void> {
  const parser = new SaxesParser({ position: true });
  let found: Finding[] = [];
  /** Text of the open <style> element, or undefined outside one. */
  let style: string[] | undefined;
  /** The element whose attributes are being read, for messages. */
  let element = '';

  parser.on('xmldecl', ({ encoding }) => {
    if (encoding !== undefined && !asciiCompatible.has(encoding.toLowerCase())) refused(`declares the encoding "${encoding}", which could not be checked`);
  });
  parser.on('doctype', (doctype) => {
    // Without an internal subset a DOCTYPE is a name and two identifiers. A longer one is refused by its length,
    // before searching it would copy megabytes that saxes built in pieces.
    if (doctype.length > MAX_DOCTYPE_CHARS) refused(`has a DOCTYPE of ${doctype.length} characters`);
    // Entities can only be declared in an internal subset; XML keywords are case-sensitive, so includes() will do.
    if (doctype.includes('[')) refused(doctype.includes('<!ENTITY') ? 'declares XML entities' : 'has an internal DTD subset');
  });
  parser.on('processinginstruction', ({ target, body }) => {
    if (target.toLowerCase() !== 'xml-stylesheet') return;
    const pairs = pseudoAttributes(body);
    if (pairs === null) refused('has an <?xml-stylesheet?> that could not be read');
    const href = pairs.get('href');
    if (href !== undefined) found.push({ kind: 'url', value: href, where: '<?xml-stylesheet href?>' });
  });
  parser.on('opentagstart', ({ name }) => {
    // librsvg reads a <style>'s text around child elements; markup inside could hide CSS from a scan of its text.
    if (style) refused(`has markup (<${name}>) inside <style>`);
    if (localName(name) === 'include') refused(`uses XInclude (<${name}>)`);
    element = name;
  });
  parser.on('attribute', ({ name, value }) => {
    // Checked before the value is read: reading a value of megabytes that saxes built in pieces copies it whole.
    if (value.length > MAX_ATTRIBUTE_CHARS) throw new MalformedXml(`the value of ${name} is over ${MAX_ATTRIBUTE_CHARS} characters, more than libxml2 reads`);
    const lower = name.toLowerCase();
    const local = localName(lower);
    if (lower === 'xmlns' || lower.startsWith('xmlns:')) {
      // A namespace name is never fetched. The XInclude ones are a few dozen characters: a long value is not one.
      if (value.length < 256 && XINCLUDE.test(value)) refused(`declares the XInclude namespace (${name})`);
    } else if (local === 'href' || local === 'src' || lower === 'xml:base') {
      found.push({ kind: 'url', value, where: `<${element} ${name}>` });
    } else if (value.includes('(') || value.includes('@')) {
      // Presentation attributes are CSS values; only a function or an at-rule can load anything, and neither
      // exists without a literal '(' or '@'.
      found.push({ kind: 'css', css: value, where: `<${element} ${name}>` });
    }
  });
  parser.on('opentag', ({ name }) => {
    if (localName(name) === 'style') style = [];
  });
  parser.on('text', (text) => style?.push(text));
  parser.on('cdata', (text) => style?.push(text));
  parser.on('closetag', ({ name }) => {
    if (style && localName(name) === 'style') found.push({ kind: 'css', css: style.join(''), where: '<style>' });
    style = undefined;
  });

  /** saxes throws plain Errors for what is not well-formed; our handlers throw the refusals. */
  const parse = (step: () => void): void => {
    try {
      step();
    } catch (err) {
      if (err instanceof ImageError || err instanceof MalformedXml) throw err;
      throw new MalformedXml(err instanceof Error ? err.message : String(err), { cause: err });
    }
  };
  const judgeFound = async (): Promise<void> => {
    const batch = found;
    found = [];
    if (batch.length > 0) await judge(batch);
  };
  const decoder = new StringDecoder('utf8');
  for (let offset = 0; offset < xml.length; offset += SLICE_BYTES) {
    const text = decoder.write(xml.subarray(offset, offset + SLICE_BYTES));
    parse(() => parser.write(offset === 0 ? text.replace(/^\uFEFF/, '') : text));
    await judgeFound();
    await nextTurn();
  }
  // close() is where saxes reports an unclosed element or a missing root.
  parse(() => parser.write(decoder.end()).close());
  await judgeFound();
}

/**
 * The name="value" pairs of an <?xml-stylesheet?>, or null when they do not parse (then nothing is guessed).
 * An index loop, not a regex: the body is the uploader's text.
 */
function pseudoAttributes(body: string): Map<string, string> | null {
  const pairs = new Map<string, string>();
  const isSpace = (at: number): boolean => {
    const code = body.charCodeAt(at);
    return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
  };
  let i = 0;
  for (;;) {
    while (isSpace(i)) i++;
    if (i >= body.length) return pairs;
    const eq = body.indexOf('=', i);
    if (eq < 0) return null;
    const name = body.slice(i, eq).trim();
    i = eq + 1;
    while (isSpace(i)) i++;
    const quote = body[i];
    if (quote !== '"' && quote !== "'") return null;
    const end = body.indexOf(quote, i + 1);
    if (end < 0) return null;
    pairs.set(name, body.slice(i + 1, end));
    i = end + 1;
  }
}
