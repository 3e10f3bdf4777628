#!/usr/bin/env bash
# Runs every test against real processes (etcd, dockerd, the API server, the CLI) and ends with one line:
# "N passed, N failed". Exits non-zero on any failure. Usage: hack/test.sh [vitest filters…]
set -uo pipefail
cd "$(dirname "$0")/.."

bash hack/install.sh || exit 2
bash hack/docker.sh || exit 2   # a real Docker engine and the persys/busybox test image
bash hack/codegen.sh --check || exit 1
npx tsc -p tsconfig.json || { echo "typecheck failed"; echo "0 passed, 1 failed"; exit 1; }

report=$(mktemp)
trap 'rm -f "$report"' EXIT
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
if [ -s "$report" ]; then
  node hack/test-summary.mjs "$report" "$status" || { [ $status -eq 0 ] && status=1; }
else
  echo "vitest wrote no report (exit code $status): it failed before running any test"
  echo "0 passed, 1 failed"
  [ $status -eq 0 ] && status=1
fi
exit $status
