/**
 * Finds what CSS could load: `@import` and the URLs of `url()` and `src()`. A small CSS Syntax tokenizer, not a
 * text search, so escapes (`u\72 l(`, `@\69mport`) read as a CSS parser reads them while comments and strings hide
 * nothing. It looks at each character a bounded number of times and can stop anywhere, even inside a token of
 * megabytes, so the caller can hand the event loop back between slices.
 */

export type CssFinding = { kind: 'import' } | { kind: 'url'; value: string };

const isHex = (code: number): boolean => (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x66);
const isNewline = (code: number): boolean => code === 0x0a || code === 0x0d || code === 0x0c;
const isWhitespace = (code: number): boolean => code === 0x20 || code === 0x09 || isNewline(code);
/** Name code points per CSS Syntax: letters, digits, '-', '_' and anything non-ASCII. */
const isNameChar = (code: number): boolean =>
  (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x5f || code >= 0x80;

/** The functions whose argument CSS fetches (CSS Values 4 adds src() beside url()). */
const urlFunctions: ReadonlySet<string> = new Set(['url', 'src']);
/** Longer than any keyword compared against ('namespace'): the rest of a long name is not kept. */
const MAX_KEYWORD = 16;

/** Where the tokenizer is: between tokens, or part-way through one that may span many slices. */
type Mode =
  | { at: 'start' }
  | { at: 'name'; atRule: boolean; name: string }
  | { at: 'url-space' }
  | { at: 'url'; value: Text; run: number }
  | { at: 'string'; quote: number; value: Text | undefined; run: number };

export class CssScanner {
  private i = 0;
  private mode: Mode = { at: 'start' };
  /** Inside `@namespace …;`, whose url() names a namespace and is never fetched. */
  private inNamespaceRule = false;
  private finished = false;

  constructor(
    private readonly css: string,
    private readonly found: CssFinding[],
  ) {}

  get done(): boolean {
    return this.finished;
  }

  /** Scans about `chars` more characters (an escape or a comment may take it a little past). */
  advance(chars: number): void {
    const stop = Math.min(this.css.length, this.i + chars);
    while (this.i < stop) this.step(stop);
    if (this.i >= this.css.length && !this.finished) {
      this.finished = true;
      this.endOfInput();
    }
  }

  private code(at: number): number {
    return at < this.css.length ? this.css.charCodeAt(at) : -1;
  }

  private startsEscape(at: number): boolean {
    return this.code(at) === 0x5c && at + 1 < this.css.length && !isNewline(this.code(at + 1));
  }

  private step(stop: number): void {
    const mode = this.mode;
    if (mode.at === 'start') this.startToken();
    else if (mode.at === 'name') this.continueName(mode, stop);
    else if (mode.at === 'string') this.continueString(mode, stop);
    else if (mode.at === 'url') this.continueUrl(mode, stop);
    else this.startUrlArgument();
  }

  private startToken(): void {
    const c = this.css.charCodeAt(this.i);
    if (c === 0x2f && this.code(this.i + 1) === 0x2a) {
      const end = this.css.indexOf('*/', this.i + 2);
      this.i = end < 0 ? this.css.length : end + 2;
    } else if (c === 0x22 || c === 0x27) {
      this.i++;
      this.mode = { at: 'string', quote: c, value: undefined, run: this.i };
    } else if (c === 0x40 && (isNameChar(this.code(this.i + 1)) || this.startsEscape(this.i + 1))) {
      this.i++;
      this.mode = { at: 'name', atRule: true, name: '' };
    } else if (isNameChar(c) || this.startsEscape(this.i)) {
      this.mode = { at: 'name', atRule: false, name: '' };
    } else {
      if (c === 0x3b || c === 0x7b) this.inNamespaceRule = false;
      this.i++;
    }
  }

  private continueName(mode: Extract<Mode, { at: 'name' }>, stop: number): void {
    while (this.i < stop) {
      if (isNameChar(this.css.charCodeAt(this.i))) {
        if (mode.name.length < MAX_KEYWORD) mode.name += this.css[this.i];
        this.i++;
      } else if (this.startsEscape(this.i)) {
        this.i++;
        const char = this.escape();
        if (mode.name.length < MAX_KEYWORD) mode.name += char;
      } else {
        this.endName(mode);
        return;
      }
    }
  }

  private endName({ atRule, name }: Extract<Mode, { at: 'name' }>): void {
    const keyword = name.toLowerCase();
    this.mode = { at: 'start' };
    if (atRule) {
      if (keyword === 'import') this.found.push({ kind: 'import' });
      this.inNamespaceRule = keyword === 'namespace';
    } else if (this.code(this.i) === 0x28) {
      this.i++;
      if (urlFunctions.has(keyword)) this.mode = { at: 'url-space' };
    }
  }

  /** After `url(`: whitespace, then a quoted string or a bare URL. */
  private startUrlArgument(): void {
    const c = this.css.charCodeAt(this.i);
    if (isWhitespace(c)) {
      this.i++;
    } else if (c === 0x22 || c === 0x27) {
      this.i++;
      this.mode = { at: 'string', quote: c, value: new Text(), run: this.i };
    } else {
      this.mode = { at: 'url', value: new Text(), run: this.i };
    }
  }

  /** A bare URL up to ')'; surrounding whitespace is trimmed later, as the URL parser trims it. */
  private continueUrl(mode: Extract<Mode, { at: 'url' }>, stop: number): void {
    while (this.i < stop) {
      const c = this.css.charCodeAt(this.i);
      if (c === 0x29) {
        mode.value.add(this.css.slice(mode.run, this.i++));
        this.foundUrl(mode.value);
        return;
      }
      if (this.startsEscape(this.i)) {
        mode.value.add(this.css.slice(mode.run, this.i++));
        mode.value.add(this.escape());
        mode.run = this.i;
      } else {
        this.i++;
      }
    }
  }

  /** A quoted string; an unescaped newline ends it (a bad string) as in CSS. Only a url()'s string is kept. */
  private continueString(mode: Extract<Mode, { at: 'string' }>, stop: number): void {
    while (this.i < stop) {
      const c = this.css.charCodeAt(this.i);
      if (c === mode.quote || isNewline(c)) {
        mode.value?.add(this.css.slice(mode.run, this.i));
        if (c === mode.quote) this.i++;
        this.endString(mode);
        return;
      }
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      mode.value?.add(this.css.slice(mode.run, this.i++));
      const next = this.code(this.i);
      if (next === 0x0d && this.code(this.i + 1) === 0x0a) this.i += 2;
      else if (isNewline(next) || next < 0) this.i++;
      else mode.value?.add(this.escape());
      mode.run = this.i;
    }
  }

  private endString(mode: Extract<Mode, { at: 'string' }>): void {
    if (mode.value) this.foundUrl(mode.value);
    else this.mode = { at: 'start' };
  }

  private foundUrl(value: Text): void {
    if (!this.inNamespaceRule) this.found.push({ kind: 'url', value: value.text() });
    this.mode = { at: 'start' };
  }

  /** CSS closes whatever is open at the end: an unclosed url( is still a URL. */
  private endOfInput(): void {
    const mode = this.mode;
    if (mode.at === 'name') this.endName(mode);
    else if (mode.at === 'url-space') this.foundUrl(new Text());
    else if (mode.at === 'url' || mode.at === 'string') {
      mode.value?.add(this.css.slice(mode.run));
      if (mode.at === 'url') this.foundUrl(mode.value);
      else this.endString(mode);
    }
  }

  /** After a backslash: up to six hex digits and one optional whitespace, or the next character itself. */
  private escape(): string {
    const start = this.i;
    if (start >= this.css.length) return '\ufffd';
    if (!isHex(this.css.charCodeAt(start))) {
      const point = this.css.codePointAt(start)!;
      this.i += point > 0xffff ? 2 : 1;
      return String.fromCodePoint(point);
    }
    while (this.i < this.css.length && this.i - start < 6 && isHex(this.css.charCodeAt(this.i))) this.i++;
    const value = Number.parseInt(this.css.slice(start, this.i), 16);
    if (this.code(this.i) === 0x0d && this.code(this.i + 1) === 0x0a) this.i += 2;
    else if (isWhitespace(this.code(this.i))) this.i++;
    const valid = value > 0 && value <= 0x10ffff && (value < 0xd800 || value > 0xdfff);
    return valid ? String.fromCodePoint(value) : '\ufffd';
  }
}

/**
 * A value built from pieces, joined in blocks: appending a character at a time would build a rope of millions of
 * nodes, and an array with an entry per escape would be nearly as large.
 */
class Text {
  private readonly blocks: string[] = [];
  private pending: string[] = [];

  add(part: string): void {
    if (!part) return;
    this.pending.push(part);
    if (this.pending.length === 1024) {
      this.blocks.push(this.pending.join(''));
      this.pending = [];
    }
  }

  text(): string {
    return this.blocks.join('') + this.pending.join('');
  }
}
