#!/usr/bin/env node
// Builds native/ (the libtorch binding) with cmake-js, offline: Node-API headers come from the
// node-api-headers package (package.json "binary.napi_versions"), libtorch from LIBTORCH or Debian's libtorch-dev.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function findTorchPrefix() {
  const fromEnv = process.env.LIBTORCH;
  if (fromEnv) {
    const candidates = [fromEnv, path.join(fromEnv, 'share', 'cmake', 'Torch')];
    if (!candidates.some((c) => existsSync(path.join(c, 'TorchConfig.cmake')))) {
      console.error(`LIBTORCH=${fromEnv} has no share/cmake/Torch/TorchConfig.cmake: point it at a libtorch folder or a PyTorch install's torch/ folder.`);
      process.exit(1);
    }
    return fromEnv;
  }
  const debian = '/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake';
  const debianArm = '/usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake';
  if (existsSync(debian) || existsSync(debianArm)) return undefined;
  console.error('libtorch not found: run `bash scripts/setup.sh` as root on Debian/Ubuntu (installs libtorch-dev), or set LIBTORCH=/path/to/libtorch.');
  process.exit(1);
}

const prefix = findTorchPrefix();
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '-d', 'native', '--out', 'native/build', '-p', process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '2'];
if (prefix) args.push(`--CDCMAKE_PREFIX_PATH=${prefix}`);
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
process.exit(result.status ?? 1);
