/** A small Dockerfile reader: instructions in order, grouped by stage, with ARG defaults substituted. */

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Join `\` continuations, drop comments and blank lines. */
export function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && (/^\s*#/.test(line) || line.trim() === '')) return;
    if (pending !== '' && /^\s*#/.test(line)) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + line.trim()).trim();
    pending = '';
    const match = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (match) result.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: startLine });
  });
  return result;
}

export function stages(text: string): Stage[] {
  const args = new Map<string, string>();
  const substitute = (value: string) => value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string, b: string) => args.get(a ?? b) ?? whole);
  const result: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'ARG') {
      const [name, value = ''] = instruction.args.split('=');
      args.set(name!.trim(), value.trim());
      if (result.length === 0) continue;
    }
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = substitute(instruction.args).split(/\s+/);
      result.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(result.length), from: from!, instructions: [] });
      continue;
    }
    const stage = result.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
    stage.instructions.push({ ...instruction, args: substitute(instruction.args) });
  }
  return result;
}

/** ENV in both forms: `ENV A=1 B="two"` and the legacy `ENV A 1`. */
export function envPairs(args: string): [string, string][] {
  if (!/^\w+=/.test(args)) {
    const [name, ...rest] = args.split(/\s+/);
    return [[name!, rest.join(' ')]];
  }
  return [...args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => [m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!]);
}

/** CMD / HEALTHCHECK CMD in exec form (a JSON array); shell form becomes `sh -c`. */
export function commandOf(args: string): string[] {
  const text = args.replace(/^((--\w[\w-]*=\S+)\s+)*(CMD\s+)?/, '');
  return text.startsWith('[') ? (JSON.parse(text) as string[]) : ['/bin/sh', '-c', text];
}

/** HEALTHCHECK options such as --interval=30s, in seconds. */
export function healthcheckOptions(args: string): Record<string, number> {
  const options: Record<string, number> = {};
  for (const m of args.matchAll(/--([\w-]+)=(\d+)(ms|s|m)?/g)) options[m[1]!] = Number(m[2]) * ({ ms: 0.001, s: 1, m: 60 }[m[3] ?? 's'] ?? 1);
  return options;
}

/** COPY's flags and operands: the last operand is the destination. */
export function copyOperands(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { ...(from ? { from } : {}), sources: words, dest };
}
