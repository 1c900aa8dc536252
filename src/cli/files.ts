/** Where the CLI's images come from and go to: inputs expanded from folders, output names, formats from extensions. */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { outputTypes, type OutputType } from '../core/params.js';

/** The extension written for each format, and the extensions that name it. */
const extensionOf: Readonly<Record<OutputType, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', gif: 'gif', tiff: 'tiff' };
const aliases: Readonly<Record<string, OutputType>> = { jpg: 'jpeg', jpe: 'jpeg', tif: 'tiff' };

/** The format a file name asks for (`y.webp` → webp), or undefined for an extension that names none. */
export function typeFromPath(path: string): OutputType | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  if (aliases[ext]) return aliases[ext];
  return (outputTypes as readonly string[]).includes(ext) ? (ext as OutputType) : undefined;
}

/** The output path for `input` in `dir`: same base name, the extension of the format written (kept when it already fits). */
export function outputPathFor(input: string, dir: string, type: OutputType): string {
  const name = basename(input);
  const ext = extname(name);
  const base = ext ? name.slice(0, -ext.length) : name;
  return join(dir, typeFromPath(name) === type ? name : `${base}.${extensionOf[type]}`);
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Inputs as given: files stay as they are (a missing one fails when it is read, as one failure among the batch);
 * a folder stands for its files, not its subfolders or hidden files, in name order.
 */
export async function expandInputs(inputs: readonly string[]): Promise<{ files: string[]; hadFolder: boolean }> {
  const files: string[] = [];
  let hadFolder = false;
  for (const input of inputs) {
    if (input !== '-' && (await isDirectory(input))) {
      hadFolder = true;
      const entries = await readdir(input, { withFileTypes: true });
      for (const entry of entries.filter((item) => item.isFile() && !item.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
        files.push(join(input, entry.name));
      }
    } else {
      files.push(input);
    }
  }
  return { files, hadFolder };
}

/** A reason a file could not be read or written, in words about files. */
export function fileProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EISDIR: 'is a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOTDIR: 'a part of the path is not a folder',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
  };
  return (code && words[code]) ?? (err instanceof Error ? err.message : String(err));
}
