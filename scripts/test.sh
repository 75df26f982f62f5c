#!/usr/bin/env bash
# The whole test suite: type check, then every test file under test/ with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec "${files[@]}"
