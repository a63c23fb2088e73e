#!/bin/sh
# Generates the Python stubs of the notes API into OUT_DIR (created if needed):
# notes/v1/notes_pb2.py and notes_pb2_grpc.py for the servers, and
# google/api/{annotations,http}_pb2.py, which notes_pb2.py imports and which
# Debian's protoc does not ship. Also writes OUT_DIR/notes.binpb, the API's
# descriptor set with its imports, for clients that load one (grpcurl
# -protoset, the tests).
#
#   examples/notes/build_stubs.sh /tmp/notes-stubs
#
# Needs protoc and grpc_python_plugin (Debian: protobuf-compiler
# protobuf-compiler-grpc) and the google/api protos of the npm package
# google-proto-files (`npm install` in the repository), or GOOGLE_PROTOS=DIR.
set -eu
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
protos="$here/protos"
google=${GOOGLE_PROTOS:-"$here/../../node_modules/google-proto-files"}
if [ ! -f "$google/google/api/annotations.proto" ]; then
  echo "$0: no google/api/annotations.proto under $google (run npm install, or set GOOGLE_PROTOS)" >&2
  exit 1
fi
plugin=$(command -v grpc_python_plugin) || {
  echo "$0: grpc_python_plugin not found (Debian: apt-get install protobuf-compiler-grpc)" >&2
  exit 1
}
mkdir -p "$out"
protoc -I "$protos" -I "$google" --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$plugin" notes/v1/notes.proto
protoc -I "$google" --python_out="$out" google/api/annotations.proto google/api/http.proto
protoc -I "$protos" -I "$google" --include_imports --descriptor_set_out="$out/notes.binpb" notes/v1/notes.proto
