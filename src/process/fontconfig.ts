/**
 * Text rendering (watermarks, SVG <text>) goes through fontconfig, which writes a font cache to disk the first time
 * it runs on a machine. The service promises never to write to disk, so it points fontconfig at config/fonts.conf,
 * whose only cache folder cannot be created. An operator's own FONTCONFIG_FILE wins.
 */
import { fileURLToPath } from 'node:url';

/** Same path from src/process and dist/process. */
const fontconfigFile = fileURLToPath(new URL('../../config/fonts.conf', import.meta.url));

/** Call before the first text render: fontconfig reads the variable when it initialises, lazily. */
export function useOwnFontconfig(env: NodeJS.ProcessEnv = process.env): void {
  env.FONTCONFIG_FILE ??= fontconfigFile;
}
