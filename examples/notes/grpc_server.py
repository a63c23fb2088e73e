"""The notes API (protos/notes/v1/notes.proto) over gRPC with grpcio, no
health service: the gRPC half of the pair `npm run bench -- --api
examples/notes/card.yaml` measures. The logic is notes_service.py's.

    examples/notes/build_stubs.sh /tmp/notes-stubs
    PYTHONPATH=/tmp/notes-stubs /usr/bin/python3 examples/notes/grpc_server.py --port 50071

Prints "listening on 127.0.0.1:<port>" once it accepts calls.
"""
import argparse
from concurrent import futures

import grpc

from notes.v1 import notes_pb2_grpc

import notes_service


def answer(method, request, context):
    try:
        return method(request)
    except notes_service.ServiceError as error:
        context.abort(grpc.StatusCode[error.code], error.message)


class Notes(notes_pb2_grpc.NotesServicer):
    def GetNote(self, request, context):
        return answer(notes_service.get_note, request, context)

    def ListNotes(self, request, context):
        return answer(notes_service.list_notes, request, context)

    def CreateNote(self, request, context):
        return answer(notes_service.create_note, request, context)

    def UpdateNote(self, request, context):
        return answer(notes_service.update_note, request, context)

    def DeleteNote(self, request, context):
        return answer(notes_service.delete_note, request, context)

    def StreamNotes(self, request, context):
        yield from answer(notes_service.stream_notes, request, context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    notes_pb2_grpc.add_NotesServicer_to_server(Notes(), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    print(f"listening on {args.host}:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
