/**
 * The SVG guard through probe(), the one door every upload goes through: what it refuses and what it lets pass,
 * embedded images against the pixel limit, and that its cost grows linearly with the input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { probe } from '../../src/core/image.js';
import { defaultLimits } from '../../src/core/limits.js';
import { pngClaiming } from '../../testkit/formats/png.js';

const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const svg = (body: string, attributes = ''): string => `<svg ${NS} width="64" height="64"${attributes}>${body}</svg>`;
const base64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');
const svgDataUrl = (text: string): string => `data:image/svg+xml;base64,${base64(text)}`;

const smallPng = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c00' } }).png().toBuffer();
const smallJpeg = await sharp(smallPng).jpeg().toBuffer();
const pngDataUrl = `data:image/png;base64,${base64(smallPng)}`;

async function accepted(input: string | Buffer): Promise<void> {
  const { format } = await probe(Buffer.from(input), defaultLimits);
  assert.equal(format, 'svg');
}

function refused(input: string | Buffer, code: string, detail: RegExp): Promise<void> {
  return assert.rejects(probe(Buffer.from(input), defaultLimits), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, err.message);
    assert.match(err.message ?? '', detail);
    return true;
  });
}

const external = /SVG refused: it references an external resource/;

describe('refused: anything that reaches outside the request', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['DOCTYPE with an ENTITY', `<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n${svg('<text>&x;</text>')}`, /declares XML entities/],
    ['DOCTYPE with an internal subset and no entity', `<!DOCTYPE svg [ <!-- nothing --> ]>${svg('')}`, /internal DTD subset/],
    ['<xi:include>', svg('<text><xi:include href="file:///etc/passwd" parse="text"/></text>', ' xmlns:xi="http://www.w3.org/2001/XInclude"'), /XInclude/],
    ['XInclude as the default namespace', svg('<include xmlns="http://www.w3.org/2001/XInclude" href="#x"/>'), /XInclude/],
    ['an include element under another prefix', svg('<x:include xmlns:x="urn:x" href="#a"/>'), /XInclude \(<x:include>\)/],
    ['<image href="file:…">', svg('<image href="file:///etc/passwd"/>'), external],
    ['xlink:href to the network', svg('<image xlink:href="http://127.0.0.1:9/x.png"/>'), /external resource in <image xlink:href>: http:\/\/127\.0\.0\.1:9\/x\.png/],
    ['href under any namespace prefix', svg('<image l:href="file:///etc/passwd" xmlns:l="http://www.w3.org/1999/xlink"/>'), /<image l:href>/],
    ['a relative href', svg('<image href="x.png"/>'), external],
    ['a protocol-relative href', svg('<use href="//example.com/a.svg#x"/>'), external],
    ['a src attribute', svg('<foreignObject><img xmlns="http://www.w3.org/1999/xhtml" src="http://example.com/x.png"/></foreignObject>'), /<img src>/],
    ['href with whitespace around it', svg('<a href="  \n\t http://example.com/ "/>'), external],
    ['href with a tab inside the scheme (the URL parser drops it)', svg('<image href="fi&#9;le:///etc/passwd"/>'), /file:\/\/\/etc\/passwd/],
    ['href spelled with character references', svg('<image href="&#102;&#x69;le:///etc/passwd"/>'), /file:\/\/\/etc\/passwd/],
    ['xml:base pointing at a directory', svg('<image href="#x"/>', ' xml:base="file:///etc/"'), /xml:base/],
    ['CSS url() in a style attribute', svg('<rect style="fill: url(http://example.com/p.svg#g)"/>'), /url\(\) in <rect style>/],
    ['CSS url() in a presentation attribute', svg('<rect fill="url(file:///tmp/p.svg#g)"/>'), /url\(\) in <rect fill>/],
    ['CSS url() in a <style> element', svg('<style>rect { fill: url("file:///etc/passwd") }</style>'), /url\(\) in <style>/],
    ['CSS url() in CDATA', svg('<style><![CDATA[rect { filter: url( \'http://x/f.svg#f\' ) }]]></style>'), external],
    ['url() spelled &#117;rl( (an XML character reference)', svg('<rect style="fill: &#117;rl(file:///etc/passwd)"/>'), external],
    ['url() spelled u\\72 l( (a CSS escape)', svg("<rect style=\"fill: u\\72 l('file:///etc/passwd')\"/>"), external],
    ['url() spelled \\75 \\52 \\4c ( and URL(', svg('<style>a{fill:\\75 \\52 \\4c (file:///a)} b{fill:URL(file:///b)}</style>'), /file:\/\/\/a/],
    ['a CSS-escaped URL inside url()', svg('<rect style="fill: url(\\66 ile:///etc/passwd)"/>'), /file:\/\/\/etc\/passwd/],
    ['CSS @import', svg('<style>@import "theme.css";</style>'), /imports CSS \(@import in <style>\)/],
    ['CSS @import spelled @\\69mport', svg('<style>@\\69mport url(data:text/css,a{});</style>'), /imports CSS/],
    ['<?xml-stylesheet?> of a file', `<?xml-stylesheet type="text/css" href="style.css"?>${svg('')}`, /<\?xml-stylesheet href\?>: style\.css/],
    ['<?xml-stylesheet?> of a data: style sheet that imports', `<?xml-stylesheet type="text/css" href="data:text/css,@import%20'x.css';"?>${svg('')}`, /imports CSS/],
    ['an encoding whose bytes are not ASCII (UTF-7 can spell < as +ADw-)', `<?xml version="1.0" encoding="UTF-7"?>${svg('')}`, /encoding "UTF-7"/],
    ['markup inside <style>, which could hide CSS from the scan', svg('<style><x>/*</x>rect{fill:url(file:///x)}<x>*/</x></style>'), /markup \(<x>\) inside <style>/],
    ['a nested data:image/svg+xml (base64) that references a file', svg(`<image href="${svgDataUrl(svg('<image href="file:///etc/passwd"/>'))}"/>`), /\(in the SVG embedded in <image href>\): file:\/\/\/etc\/passwd/],
    ['a nested data:image/svg+xml (percent-encoded) that imports CSS', svg(`<image href="data:image/svg+xml,${encodeURIComponent(svg('<style>@import "x.css";</style>'))}"/>`), /imports CSS/],
    ['a nested svgz data: URL with an entity', svg(`<image href="data:image/svg+xml;base64,${base64(zlib.gzipSync(`<!DOCTYPE svg [<!ENTITY x "y">]>${svg('')}`))}"/>`), /declares XML entities/],
    ['an untyped data: URL holding an unsafe SVG (librsvg sniffs it)', svg(`<image href="data:;base64,${base64(svg('<image href="file:///x"/>'))}"/>`), external],
    ['an embedded SVG used as a paint server through url(data:…)', svg(`<rect fill="url(&quot;data:image/svg+xml,${encodeURIComponent(svg('<image href="http://x/"/>'))}#g&quot;)"/>`), external],
    ['an embedded BMP (not a format pixelpress reads)', svg('<image href="data:image/bmp;base64,Qk06AAAAAAAAADYAAAAoAAAAAQAAAAEAAAABABgAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAD/AA=="/>'), /not an image pixelpress reads/],
    ['an embedded image whose base64 does not decode', svg('<image href="data:image/png;base64,iVBOR*w0KGgo="/>'), /does not decode/],
    ['an svgz that inflates past 16 MiB, before any of it is parsed', zlib.gzipSync(svg(`<!--${' '.repeat(17 << 20)}-->`)), /inflates past 16777216 bytes/],
    ['a plain SVG over 16 MiB', svg(`<!--${' '.repeat(17 << 20)}-->`), /is over 16777216 bytes/],
  ];
  for (const [name, input, detail] of cases) {
    test(name, () => refused(input, 'PP_UNSAFE_SVG', detail));
  }

  test('SVG data: URLs nested more than 3 deep', async () => {
    let inner = svg('<rect width="1" height="1"/>');
    for (let level = 0; level < 3; level++) inner = svg(`<image href="${svgDataUrl(inner)}"/>`);
    await accepted(inner);
    await refused(svg(`<image href="${svgDataUrl(inner)}"/>`), 'PP_UNSAFE_SVG', /nests data: URLs more than 3 deep/);
  });

  test('more than 100 data: URLs', async () => {
    await refused(svg(`<image href="${pngDataUrl}"/>`.repeat(101)), 'PP_UNSAFE_SVG', /more than 100 data: URLs/);
  });

  test('XML that is not well-formed is not decodable (libxml2 would not load it either)', async () => {
    await refused(svg('<rect>'), 'PP_UNDECODABLE', /not well-formed XML \(1:\d+: /);
    await refused(svg('<text>&nbsp;</text>'), 'PP_UNDECODABLE', /undefined entity/);
  });
});

describe('embedded images count against the input pixel limit', () => {
  test('a 64x64 SVG embedding a PNG that declares 13000x13000 (169 MP) is refused from the PNG header', async () => {
    const svgText = svg(`<image width="64" height="64" href="data:image/png;base64,${base64(pngClaiming(13000, 13000))}"/>`);
    await refused(svgText, 'PP_TOO_MANY_PIXELS', /SVG embeds images of 169000000 pixels in total, over the limit of 50000000 pixels/);
  });

  test('the pixels of all embedded images are summed, nested SVGs included', async () => {
    const image = `<image href="data:image/png;base64,${base64(pngClaiming(4000, 4000))}"/>`; // 16 MP each
    await accepted(svg(image.repeat(3)));
    await refused(svg(image.repeat(2) + `<image href="${svgDataUrl(svg(image.repeat(2)))}"/>`), 'PP_TOO_MANY_PIXELS', /64000000 pixels in total/);
  });
});

describe('accepted: SVGs that stay inside the request', () => {
  const inkscape = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg width="210mm" height="297mm" viewBox="0 0 210 297" version="1.1" id="svg5"
   inkscape:version="1.2.2 (b0a8486541, 2022-12-01)" sodipodi:docname="drawing.svg"
   inkscape:export-filename="/home/user/drawing.png"
   xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
   xmlns:xlink="http://www.w3.org/1999/xlink" xmlns="http://www.w3.org/2000/svg" xmlns:svg="http://www.w3.org/2000/svg"
   xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cc="http://creativecommons.org/ns#" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <sodipodi:namedview id="namedview7" pagecolor="#ffffff" bordercolor="#666666" inkscape:zoom="0.7" inkscape:current-layer="layer1" />
  <defs id="defs2">
    <linearGradient inkscape:collect="always" id="linearGradient1"><stop style="stop-color:#ff0000;stop-opacity:1;" offset="0" id="stop1" /></linearGradient>
    <linearGradient xlink:href="#linearGradient1" id="linearGradient2" x1="10" y1="10" x2="100" y2="100" gradientUnits="userSpaceOnUse" />
  </defs>
  <metadata id="metadata1"><rdf:RDF><cc:Work rdf:about=""><dc:format>image/svg+xml</dc:format>
    <dc:type rdf:resource="http://purl.org/dc/dcmitype/StillImage" /><cc:license rdf:resource="http://creativecommons.org/licenses/by/4.0/" /></cc:Work></rdf:RDF></metadata>
  <g inkscape:label="Layer 1" inkscape:groupmode="layer" id="layer1">
    <rect style="fill:url(#linearGradient2);fill-opacity:1;stroke:#000000;stroke-width:0.26" id="rect1" width="100" height="80" x="20" y="30" />
    <image width="8" height="8" preserveAspectRatio="none" xlink:href="data:image/png;base64,${base64(smallPng).replace(/(.{40})/g, '$1&#10;')}" id="image1" x="5" y="5" />
    <use xlink:href="#rect1" transform="translate(10,10)" />
    <text xml:space="preserve" style="font-size:10px;font-family:sans-serif" x="30" y="150" id="text1"><tspan sodipodi:role="line" id="tspan1" x="30" y="150">Layer 1</tspan></text>
  </g>
</svg>
`;
  const cases: [string, string | Buffer][] = [
    ['a typical Inkscape file (namespaces, RDF metadata, gradients, an embedded PNG)', inkscape],
    ['an external DTD reference with no internal subset (Illustrator)', `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">${svg('')}`],
    ['fragment references in href, xlink:href and url()', svg('<defs><linearGradient id="g"/><rect id="r"/></defs><use href="#r"/><use xlink:href=" #r "/><rect fill="url(#g)" style="stroke: url( \'#g\' )"/><a href="">x</a>')],
    ['an embedded PNG, JPEG and nested SVG', svg(`<image href="${pngDataUrl}"/><image href="data:image/jpeg;base64,${base64(smallJpeg)}"/><image href="${svgDataUrl(svg(`<image href="${pngDataUrl}"/>`))}"/>`)],
    ['a percent-encoded nested SVG', svg(`<image href="data:image/svg+xml,${encodeURIComponent(svg('<rect width="4" height="4"/>'))}"/>`)],
    ['@namespace url(), which names a namespace and loads nothing', svg('<style>@namespace svg url(http://www.w3.org/2000/svg); svg|rect { fill: red }</style>')],
    ['an @font-face with an embedded WOFF2', svg(`<style>@font-face { font-family: x; src: url(data:font/woff2;base64,${base64('wOF2 not really a font')}) }</style>`)],
    ['url( and @import inside CSS comments and strings', svg('<style>/* @import "x.css"; url(http://x/) */ text { font-family: "url(http://x/)" }</style>')],
    ['text that mentions url(file:…) and @import, which is not CSS', svg('<text x="1" y="9">see url(file:///etc/passwd) and @import "x.css"</text>')],
    ['an svgz', zlib.gzipSync(svg('<rect width="8" height="8" fill="#0a0"/>'))],
    ['a leading byte-order mark', `\uFEFF${svg('<rect width="8" height="8"/>')}`],
  ];
  for (const [name, input] of cases) {
    test(name, () => accepted(input));
  }
});

describe('linear time', () => {
  /**
   * Each builder makes an input of about `bytes` bytes aimed at a quadratic spot of a regex guard: the repeated
   * <!DOCTYPE, a long whitespace href (the reported 169-byte svgz), a whitespace run inside url( ), thousands of
   * character references and CSS backslashes. Each is malformed or ends in something refused, so all of it is
   * scanned and nothing reaches librsvg.
   */
  // Refused by the new guard only (a data: URL that is no image), so a regex guard cannot stop before its slow part.
  const tail = '<image href="data:image/bmp;base64,Qk0="/></svg>';
  const builders: Record<string, (bytes: number) => string> = {
    'repeated <!DOCTYPE': (bytes) => `${'<!DOCTYPE'.repeat(bytes / 9)}<svg ${NS}/>`,
    'whitespace in an unquoted href': (bytes) => `<svg ${NS}><a href=${' '.repeat(bytes)}#x"/></svg>`,
    'whitespace in a quoted href': (bytes) => `<svg ${NS}><a href="${' '.repeat(bytes)}#x"/>${tail}`,
    'whitespace inside url( ) in a style attribute': (bytes) => `<svg ${NS}><rect style="fill:url(${' '.repeat(bytes)})"/>${tail}`,
    'whitespace inside url( ) in <style>': (bytes) => `<svg ${NS}><style>a{fill:url(${' '.repeat(bytes)})}</style>${tail}`,
    'character references': (bytes) => `<svg ${NS}><style>${'&#117;'.repeat(bytes / 12)}</style><rect style="${'&#x20;'.repeat(bytes / 12)}"/>${tail}`,
    'CSS backslashes': (bytes) => `<svg ${NS}><style>${'\\'.repeat(bytes / 2)}</style><rect style="${'u\\'.repeat(bytes / 4)}"/>${tail}`,
  };

  /** probe() in a worker, so a guard that takes hours (as the regex one did at 1 MB) can be stopped at a deadline. */
  async function timedInWorker(inputs: Buffer[], deadlineMs: number): Promise<{ ms: number; code: string }[]> {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const ready = import('tsx/esm/api').then((api) => { api.register(); return Promise.all([import(workerData.image), import(workerData.limits)]); });
       parentPort.on('message', async (input) => {
         const [{ probe }, { defaultLimits }] = await ready;
         const started = performance.now();
         let code = 'accepted';
         try { await probe(Buffer.from(input), defaultLimits); } catch (err) { code = err.code ?? String(err); }
         parentPort.postMessage({ ms: performance.now() - started, code });
       });`,
      { eval: true, workerData: { image: new URL('../../src/core/image.ts', import.meta.url).href, limits: new URL('../../src/core/limits.ts', import.meta.url).href } },
    );
    const failed = new Promise<never>((_, reject) => worker.once('error', reject));
    try {
      const results: { ms: number; code: string }[] = [];
      for (const input of inputs) {
        const answer = Promise.race([new Promise<{ ms: number; code: string }>((resolve) => worker.once('message', resolve)), failed]);
        worker.postMessage(input);
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the guard took over ${deadlineMs} ms on ${input.length} bytes`)), deadlineMs);
        });
        results.push(await Promise.race([answer, deadline]).finally(() => clearTimeout(timer)));
      }
      return results;
    } finally {
      await worker.terminate();
    }
  }

  for (const [name, build] of Object.entries(builders)) {
    test(name, async (t) => {
      const small = Buffer.from(build(10_000));
      const large = Buffer.from(build(1_000_000));
      // The first run warms the JIT; the fastest of the others is the least disturbed by a noisy machine. The
      // deadline only stops a runaway guard (the regex one needed hours at 1 MB); the bounds are asserted below.
      const [, ...runs] = await timedInWorker([small, small, small, small, large, large], 20_000);
      const smallMs = Math.min(...runs.slice(0, 3).map((run) => run.ms));
      const largeMs = Math.min(...runs.slice(3).map((run) => run.ms));
      t.diagnostic(`10 KB: ${smallMs.toFixed(2)} ms, 1 MB: ${largeMs.toFixed(1)} ms (${(largeMs / smallMs).toFixed(0)}x)`);
      for (const run of runs) assert.match(run.code, /^PP_(UNSAFE_SVG|UNDECODABLE)$/, `${name} must be refused`);
      // 100x the input: linear work is ~100x the time, quadratic ~10,000x. 1,000x sits between the two with a
      // 10x margin either way for timer resolution and GC on a shared machine.
      assert.ok(largeMs < 1000 * Math.max(smallMs, 0.05), `${name}: 10 KB took ${smallMs.toFixed(2)} ms, 1 MB ${largeMs.toFixed(1)} ms`);
      // 50-500 ms measured on this loaded 2-core machine; a second still fails a guard that is linear but too slow.
      assert.ok(largeMs < 1000, `${name}: 1 MB took ${largeMs.toFixed(1)} ms`);
    });
  }
});
