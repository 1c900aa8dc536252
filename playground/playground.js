// pixelpress playground. The operations and their forms come from /openapi.json, which the server generates from its
// operation registry (each registry operation carries x-pipeline-operation); the page lists none by hand. Every run is
// one POST /pipeline with imaginary's JSON steps and the image as the raw body: the curl command shown is that request.

const $ = (id) => document.getElementById(id);

const state = {
  /** @type {File | undefined} */ file: undefined,
  /** name -> { name, summary, description, tag, parameters } */ operations: new Map(),
  /** The pipeline so far, in imaginary's format: [{ operation, params }]. */ steps: [],
  beforeUrl: '',
  afterUrl: '',
  /** The Content-Type of the last result, which names the output file. */ outputType: '',
};

// --- The operations and their forms ------------------------------------------------------------------------------

async function loadOperations() {
  const response = await fetch('openapi.json', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
  const api = await response.json();
  for (const methods of Object.values(api.paths)) {
    const operation = methods.post;
    const name = operation?.['x-pipeline-operation'];
    if (!name) continue;
    state.operations.set(name, {
      name,
      summary: operation.summary ?? '',
      description: operation.description ?? '',
      tag: operation.tags?.[0] ?? '',
      parameters: (operation.parameters ?? []).filter((parameter) => parameter.in === 'query'),
    });
  }
  const select = $('operation');
  const groups = new Map();
  for (const operation of state.operations.values()) {
    if (!groups.has(operation.tag)) {
      const group = document.createElement('optgroup');
      group.label = operation.tag;
      groups.set(operation.tag, group);
      select.append(group);
    }
    groups.get(operation.tag).append(new Option(`${operation.name}: ${operation.summary}`, operation.name));
  }
  showForm();
}

/** The input for one parameter, from its JSON Schema: a choice for enums and booleans, a number box, or text. */
function inputFor(parameter) {
  const schema = parameter.schema ?? {};
  let input;
  if (schema.enum || schema.type === 'boolean') {
    input = document.createElement('select');
    input.append(new Option('(not set)', ''));
    for (const value of schema.enum ?? ['true', 'false']) input.append(new Option(String(value), String(value)));
  } else if (schema.type === 'integer' || schema.type === 'number') {
    input = document.createElement('input');
    input.type = 'number';
    input.step = schema.type === 'integer' ? '1' : 'any';
    if (schema.minimum !== undefined) input.min = String(schema.minimum);
    if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) input.max = String(schema.maximum);
  } else {
    // Long free text (a watermark) may have several lines.
    input = document.createElement(schema.maxLength >= 1024 ? 'textarea' : 'input');
    if (schema.maxLength !== undefined) input.maxLength = schema.maxLength;
    if (schema.pattern && input instanceof HTMLInputElement) input.pattern = schema.pattern;
  }
  input.id = `param-${parameter.name}`;
  input.name = parameter.name;
  input.dataset.type = schema.enum ? 'string' : schema.type ?? 'string';
  input.required = Boolean(parameter.required);
  return input;
}

function showForm() {
  const operation = state.operations.get($('operation').value);
  const params = $('params');
  params.replaceChildren();
  if (!operation) return;
  $('operation-description').textContent = operation.description;
  for (const parameter of operation.parameters) {
    const label = document.createElement('label');
    label.htmlFor = `param-${parameter.name}`;
    label.textContent = parameter.name;
    if (parameter.required) label.className = 'required';
    const hint = document.createElement('p');
    hint.className = 'hint muted';
    hint.textContent = parameter.description ?? '';
    params.append(label, inputFor(parameter), hint);
  }
}

/** The filled-in fields as a step's params: numbers and booleans as JSON values, empty fields left out. */
function paramsFromForm() {
  const params = {};
  for (const input of $('params').querySelectorAll('input, select, textarea')) {
    const value = input.value.trim() === '' ? '' : input.value;
    if (value === '') continue;
    const type = input.dataset.type;
    params[input.name] = type === 'integer' || type === 'number' ? Number(value) : type === 'boolean' ? value === 'true' : value;
  }
  return params;
}

// --- The image ---------------------------------------------------------------------------------------------------

/** Width and height as this browser decodes the image, or undefined when it cannot (TIFF, HEIC and PDF in most). */
async function decodedSize(blob) {
  try {
    const bitmap = await createImageBitmap(blob);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return undefined;
  }
}

const bytes = (count) => `${count.toLocaleString('en')} bytes (${(count / 1024).toFixed(1)} KiB)`;

async function setFile(file) {
  if (!file) return;
  state.file = file;
  URL.revokeObjectURL(state.beforeUrl);
  state.beforeUrl = URL.createObjectURL(file);
  $('before').src = state.beforeUrl;
  const size = await decodedSize(file);
  const shown = size ? `${size.width} × ${size.height} px` : 'this browser cannot show it, the server may still read it';
  $('input-info').textContent = `${file.name} · ${file.type || 'unknown type'} · ${bytes(file.size)} · ${shown}`;
  $('input-info').classList.remove('muted');
  showCurl();
  if (state.steps.length > 0) await run(state.steps);
}

function watchDrops() {
  const drop = $('drop');
  // Anywhere else on the page, a dropped file would make the browser navigate to it.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());
  drop.addEventListener('dragover', () => drop.classList.add('over'));
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    drop.classList.remove('over');
    void setFile(event.dataTransfer?.files?.[0]);
  });
  $('file').addEventListener('change', (event) => void setFile(event.target.files?.[0]));
}

// --- Running the pipeline ----------------------------------------------------------------------------------------

function pipelineUrl(steps) {
  const url = new URL('pipeline', location.href);
  url.searchParams.set('operations', JSON.stringify(steps));
  return url;
}

/** The type the body is sent with: the file's own, or octet-stream (the server reads the bytes either way). */
const bodyType = () => state.file?.type || 'application/octet-stream';

const extensions = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/avif': 'avif', 'image/gif': 'gif', 'image/tiff': 'tiff' };

function outputName(type) {
  const base = (state.file?.name ?? 'image').replace(/\.[^.]*$/, '') || 'image';
  return `${base}-pixelpress.${extensions[type] ?? 'out'}`;
}

/** "process;dur=41.2, queue;dur=0.1" as { process: 41.2, queue: 0.1 } (milliseconds). */
function parseServerTiming(header) {
  const entries = {};
  for (const part of (header ?? '').split(',')) {
    const match = /^\s*([\w-]+)\s*;.*\bdur=([\d.]+)/.exec(part);
    if (match) entries[match[1]] = Number(match[2]);
  }
  return entries;
}

/** The server's processing time from its Server-Timing header, and the round trip the browser measured. */
function timing(header, elapsed) {
  const server = parseServerTiming(header);
  const roundTrip = `${Math.round(elapsed)} ms round trip (upload, queue, processing, download)`;
  if (server.process === undefined) return roundTrip;
  return `${Math.round(server.process)} ms processing on the server; ${roundTrip}`;
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

/** POST /pipeline with `steps`; shows the result and returns true, or shows the server's problem and returns false. */
async function run(steps) {
  if (!state.file) {
    setStatus('Drop or choose an image first.', true);
    return false;
  }
  const headers = { 'Content-Type': bodyType() };
  const key = $('key').value;
  if (key) headers['API-Key'] = key;
  setStatus(`Running ${steps.length} step${steps.length === 1 ? '' : 's'}…`);
  const started = performance.now();
  let response;
  let body;
  try {
    response = await fetch(pipelineUrl(steps), { method: 'POST', body: state.file, headers });
    body = await response.blob();
  } catch (error) {
    setStatus(`The request failed: ${error.message}`, true);
    return false;
  }
  const elapsed = performance.now() - started;
  if (!response.ok) {
    let problem;
    try {
      problem = JSON.parse(await body.text());
    } catch {
      problem = undefined;
    }
    setStatus(problem?.code ? `${response.status} ${problem.code}: ${problem.detail}` : `The server answered ${response.status}`, true);
    return false;
  }
  const type = (response.headers.get('Content-Type') ?? '').split(';')[0];
  URL.revokeObjectURL(state.afterUrl);
  state.afterUrl = URL.createObjectURL(body);
  $('after').src = state.afterUrl;
  const size = await decodedSize(body);
  const width = response.headers.get('Image-Width');
  const height = response.headers.get('Image-Height');
  $('result-format').textContent = `${(extensions[type] ?? type).toUpperCase()} (${type})`;
  $('result-bytes').textContent = bytes(body.size);
  $('result-dimensions').textContent = size
    ? `${size.width} × ${size.height} px`
    : `${width} × ${height} px (as the server says: this browser cannot decode ${type})`;
  $('result-time').textContent = timing(response.headers.get('Server-Timing'), elapsed);
  $('result-ignored').textContent = response.headers.get('PP-Ignored-Params') ?? 'nothing';
  $('result-info').hidden = false;
  state.outputType = type;
  const download = $('download');
  download.href = state.afterUrl;
  download.download = outputName(type);
  download.hidden = false;
  showCurl();
  setStatus(`Done: ${steps.length} step${steps.length === 1 ? '' : 's'}.`);
  return true;
}

// --- The pipeline list and its curl command ----------------------------------------------------------------------

/** POSIX shell quoting: bare when safe, else single quotes with ' written as '\''. */
const shellQuote = (word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

function showCurl() {
  const copy = $('copy');
  if (state.steps.length === 0) {
    $('curl').textContent = '';
    copy.disabled = true;
    return;
  }
  const lines = [
    `curl --data-binary ${shellQuote(`@${state.file?.name ?? 'image.jpg'}`)} -H ${shellQuote(`Content-Type: ${bodyType()}`)}`,
  ];
  if ($('key').value) lines.push(`-H ${shellQuote(`API-Key: ${$('key').value}`)}`);
  lines.push(`-o ${shellQuote(outputName(state.outputType))}`, shellQuote(pipelineUrl(state.steps).href));
  $('curl').textContent = lines.join(' \\\n  ');
  copy.disabled = false;
}

function showSteps() {
  const list = $('steps');
  list.replaceChildren();
  state.steps.forEach((step, index) => {
    const item = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = `${step.operation} ${JSON.stringify(step.params ?? {})}`;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.title = `Remove step ${index + 1}`;
    remove.addEventListener('click', async () => {
      const rest = state.steps.filter((_, i) => i !== index);
      if (rest.length === 0 || (await run(rest))) {
        state.steps = rest;
        showSteps();
      }
    });
    item.append(code, remove);
    list.append(item);
  });
  // With no steps left there is no result: hide the last one rather than leave it beside an empty pipeline.
  if (state.steps.length === 0) {
    $('after').removeAttribute('src');
    $('result-info').hidden = true;
    $('download').hidden = true;
  }
  $('no-steps').hidden = state.steps.length > 0;
  $('rerun').disabled = state.steps.length === 0;
  $('clear').disabled = state.steps.length === 0;
  showCurl();
}

function wireControls() {
  $('operation').addEventListener('change', showForm);
  $('step-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const params = paramsFromForm();
    const step = Object.keys(params).length > 0 ? { operation: $('operation').value, params } : { operation: $('operation').value };
    // A step joins the pipeline only once the server has run it: its checkers are the validation.
    const candidate = [...state.steps, step];
    if (await run(candidate)) {
      state.steps = candidate;
      showSteps();
    }
  });
  $('rerun').addEventListener('click', () => void run(state.steps));
  $('clear').addEventListener('click', () => {
    state.steps = [];
    showSteps();
  });
  $('key').addEventListener('input', showCurl);
  $('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('curl').textContent);
      $('copy').textContent = 'Copied';
    } catch {
      // The clipboard API needs a secure context (https or localhost): select the text for a manual copy instead.
      getSelection()?.selectAllChildren($('curl'));
    }
  });
}

watchDrops();
wireControls();
showSteps();
loadOperations().catch((error) => setStatus(`Could not load the operations: ${error.message}`, true));
