import { statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { UserError } from '../../errors.js';
import { ENV_VARS } from '../../planning/paths.js';

interface ServeCliOptions {
  port: number;
  host: string;
  models: string[];
  results?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`a port is an integer in 0..65535, got '${value}'`);
  return n;
}

function existingFolder(dir: string, what: string): string {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new UserError(`${dir}: ${what} folder not found`);
  return path.resolve(dir);
}

export function serveCommand(): Command {
  return new Command('serve')
    .summary('local web app: trainings with live curves, and segmentation in the browser')
    .description(
      'Serves a local web app: the runs page (/) lists every training under nnUNet_results with its curves, early-stopping ' +
        'state and checkpoints, live while it trains; the segment page (/segment) segments a NIfTI in the browser with a model ' +
        'exported by `nnunet export-onnx` (under nnUNet_results or a --models folder). Images never leave the browser.',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <address>', 'address to listen on; anything but loopback exposes your results without authentication', '127.0.0.1')
    .option('--models <dir>', 'a folder of exported models (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--results <dir>', 'nnUNet_results folder (default: $nnUNet_results)')
    .action(async (o: ServeCliOptions) => {
      const { startServer } = await import('../../serve/server.js');
      const resultsValue = o.results ?? process.env[ENV_VARS.results];
      const resultsFolder = resultsValue ? existingFolder(resultsValue, 'results') : null;
      const modelFolders = o.models.map((m) => existingFolder(m, '--models'));
      if (!resultsFolder && modelFolders.length === 0) {
        throw new UserError(`${ENV_VARS.results} is not set and no --models folder was given: nothing to serve`);
      }
      const server = await startServer({ resultsFolder, modelFolders, port: o.port, host: o.host });
      console.log(`nnunet serve: ${server.url}/ (runs) and ${server.url}/segment; ${resultsFolder ? `results: ${resultsFolder}` : 'no results folder'}${modelFolders.length ? `; models: ${modelFolders.join(', ')}` : ''}. Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
