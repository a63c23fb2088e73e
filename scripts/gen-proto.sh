#!/bin/sh
# Regenerates proto/gen/ (protobuf-es v2, TypeScript) from proto/calculator.proto.
# Offline: buf and protoc-gen-es come from node_modules. Commit the result.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf proto/gen
buf generate
