#!/usr/bin/env node
// The `nnunet` command: runs the compiled CLI (dist/, built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('nnunet: not built yet: run `bash scripts/setup.sh` in the nnunet-ts folder');
  process.exit(1);
}
await import(main.href);
