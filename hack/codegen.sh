#!/usr/bin/env bash
# Generates the TypeScript types and gRPC stubs in lib/gen/ from proto/ with ts-proto.
# The output is committed; `hack/codegen.sh --check` fails when it is stale (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

out=lib/gen
if [[ "${1:-}" == "--check" ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 2; }
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,env=node,oneof=unions-value,useOptionals=messages,forceLong=string,importSuffix=.js \
  -I proto proto/persys/v1/*.proto

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$out" lib/gen >/dev/null; then
    diff -r "$out" lib/gen | head -20 >&2
    echo "lib/gen is stale: run hack/codegen.sh and commit the result" >&2
    exit 1
  fi
  echo "lib/gen is up to date"
fi
