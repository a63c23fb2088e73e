"""The notes API (protos/notes/v1/notes.proto) over REST/JSON on Python's
standard library (http.server): the REST half of the pair `npm run bench --
--api examples/notes/card.yaml` measures. Routes are written by hand from each
method's `google.api.http` annotation, bodies are proto3 JSON through
google.protobuf.json_format (lowerCamelCase names, default values left out),
errors are the HTTP status grpc-gateway maps the gRPC code to with a body
{"code": <gRPC code number>, "message": "..."}. The logic is notes_service.py's.

    examples/notes/build_stubs.sh /tmp/notes-stubs
    PYTHONPATH=/tmp/notes-stubs /usr/bin/python3 examples/notes/rest_server.py --port 3071 --stats /tmp/notes-rest-stats.json

HTTP/1.1 keep-alive, one thread per connection. Prints
"listening on http://127.0.0.1:<port>" once it accepts calls.

With --stats FILE, the server counts every byte its sockets receive and send
(request and status lines, headers, bodies, chunk framing; every connection)
and writes the totals to FILE on SIGUSR1 and when it exits (SIGTERM, SIGINT):
{"received": N, "sent": N, "connections": N, "requests": N, "snapshot": K, "pid": P}.
`snapshot` counts the writes, so a reader that signals can wait for the next
one. The file is replaced whole (written aside, then renamed), never half
written. Counting costs one lock per socket read and write; nothing is
written while the server runs unless asked.
"""
import argparse
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from google.protobuf import descriptor, json_format

from notes.v1 import notes_pb2

import notes_service
from notes_service import ServiceError


class Route:
    """One method's `google.api.http` rule: verb, path template (as a regex
    whose groups are the `*` segments), the path field it fills, its body."""

    def __init__(self, verb, pattern, request_type, path_field, path_template, body, call, stream=False):
        self.verb = verb
        self.pattern = re.compile(pattern)
        self.request_type = request_type
        self.path_field = path_field
        self.path_template = path_template
        self.body = body  # None: every other field from the query; "*": all from the body; else one field
        self.call = call
        self.stream = stream


NOTE = r"/v1/users/([^/]+)/notes/([^/]+)"
NOTES = r"/v1/users/([^/]+)/notes"
ROUTES = (
    # get: "/v1/{name=users/*/notes/*}"
    Route("GET", NOTE, notes_pb2.GetNoteRequest, "name", "users/{}/notes/{}", None, notes_service.get_note),
    # get: "/v1/{parent=users/*}/notes"
    Route("GET", NOTES, notes_pb2.ListNotesRequest, "parent", "users/{}", None, notes_service.list_notes),
    # get: "/v1/{parent=users/*}/notes:stream"
    Route("GET", NOTES + ":stream", notes_pb2.StreamNotesRequest, "parent", "users/{}", None, notes_service.stream_notes, stream=True),
    # post: "/v1/{parent=users/*}/notes" body: "note"
    Route("POST", NOTES, notes_pb2.CreateNoteRequest, "parent", "users/{}", "note", notes_service.create_note),
    # patch: "/v1/{name=users/*/notes/*}" body: "*"
    Route("PATCH", NOTE, notes_pb2.UpdateNoteRequest, "name", "users/{}/notes/{}", "*", notes_service.update_note),
    # delete: "/v1/{name=users/*/notes/*}"
    Route("DELETE", NOTE, notes_pb2.DeleteNoteRequest, "name", "users/{}/notes/{}", None, notes_service.delete_note),
)


def field_named(message_descriptor, name):
    """A field by its proto name (page_size) or its JSON name (pageSize), as grpc-gateway accepts both."""
    field = message_descriptor.fields_by_name.get(name)
    if field is None:
        field = next((f for f in message_descriptor.fields if f.json_name == name), None)
    if field is None:
        raise ServiceError("INVALID_ARGUMENT", f"no field {name!r} in {message_descriptor.full_name}")
    return field


def query_into(request, query, taken):
    """Sets fields from query parameters (`pageSize=5&states=A&states=B&filter.tag=x`) through
    json_format, which reads int64 and enum names from strings as proto3 JSON does."""
    values = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        node, message_descriptor = values, request.DESCRIPTOR
        parts = key.split(".")
        if field_named(message_descriptor, parts[0]).name in taken:
            raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r}: set by the path or the body")
        for part in parts[:-1]:
            field = field_named(message_descriptor, part)
            if field.message_type is None or field.label == descriptor.FieldDescriptor.LABEL_REPEATED:
                raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r}: {part!r} is not a message field")
            node, message_descriptor = node.setdefault(field.name, {}), field.message_type
        field = field_named(message_descriptor, parts[-1])
        if field.message_type is not None:
            raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r} names a message, not a value")
        if field.type == descriptor.FieldDescriptor.TYPE_BOOL:
            if value not in ("true", "false"):
                raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r}: {value!r} is not true or false")
            value = value == "true"
        elif field.type in (descriptor.FieldDescriptor.TYPE_DOUBLE, descriptor.FieldDescriptor.TYPE_FLOAT):
            try:
                value = float(value)
            except ValueError:
                raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r}: {value!r} is not a number") from None
        if field.label == descriptor.FieldDescriptor.LABEL_REPEATED:
            node.setdefault(field.name, []).append(value)
        elif field.name in node:
            raise ServiceError("INVALID_ARGUMENT", f"query parameter {key!r} given twice")
        else:
            node[field.name] = value
    json_format.ParseDict(values, request)


def build_request(route, segments, query, body):
    request = route.request_type()
    try:
        if route.body == "*":
            if query:
                raise ServiceError("INVALID_ARGUMENT", "this method takes its fields from the body, not the query")
            json_format.Parse(body or b"{}", request)
        else:
            if route.body is not None:
                json_format.Parse(body or b"{}", getattr(request, route.body))
            query_into(request, query, {route.path_field, route.body})
    except (json_format.ParseError, ValueError) as error:  # ValueError: a body that is not UTF-8
        raise ServiceError("INVALID_ARGUMENT", str(error)) from None
    setattr(request, route.path_field, route.path_template.format(*(unquote(s) for s in segments)))
    return request


def to_json(message):
    return json_format.MessageToDict(message)


def encode(payload):
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# ---- byte counting ---------------------------------------------------------


class ByteCounts:
    def __init__(self):
        self.lock = threading.Lock()
        self.received = self.sent = self.connections = self.requests = 0
        self.snapshots = 0

    def add(self, received=0, sent=0, connections=0, requests=0):
        with self.lock:
            self.received += received
            self.sent += sent
            self.connections += connections
            self.requests += requests

    def write(self, path):
        with self.lock:
            self.snapshots += 1
            totals = {"received": self.received, "sent": self.sent, "connections": self.connections,
                      "requests": self.requests, "snapshot": self.snapshots, "pid": os.getpid()}
        aside = f"{path}.{os.getpid()}.tmp"
        with open(aside, "w") as file:
            json.dump(totals, file)
        os.replace(aside, path)


COUNTS = ByteCounts()


class CountingReader(socket.SocketIO):
    """The raw socket under the handler's buffered rfile: counts what recv() returns."""

    def readinto(self, buffer):
        n = super().readinto(buffer)
        if n:
            COUNTS.add(received=n)
        return n


class CountingWriter(io.BufferedIOBase):
    """The handler's wfile: sendall() every write, as socketserver's unbuffered writer does, and count it."""

    def __init__(self, sock):
        self._sock = sock

    def writable(self):
        return True

    def write(self, data):
        self._sock.sendall(data)
        with memoryview(data) as view:
            COUNTS.add(sent=view.nbytes)
            return view.nbytes

    def fileno(self):
        return self._sock.fileno()


# ---- HTTP ------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the bench's REST clients expect
    # Headers and body go out as two writes; with Nagle on, the body waits for
    # the client's delayed ACK (~40 ms a call on a kept-alive connection).
    disable_nagle_algorithm = True

    def setup(self):
        # StreamRequestHandler.setup with counting files around the socket.
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.rfile = io.BufferedReader(CountingReader(self.connection, "rb"))
        self.wfile = CountingWriter(self.connection)
        COUNTS.add(connections=1)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, verb):
        COUNTS.add(requests=1)
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.close_connection = True
            return self.error(ServiceError("INVALID_ARGUMENT", "chunked request bodies are not supported: send content-length"), 411)
        length = self.headers.get("content-length") or "0"
        if not length.isdigit():
            self.close_connection = True
            return self.error(ServiceError("INVALID_ARGUMENT", f"content-length {length!r} is not a number"))
        body = self.rfile.read(int(length))
        url = urlsplit(self.path)
        matches = [(route, route.pattern.fullmatch(url.path)) for route in ROUTES]
        matches = [(route, match) for route, match in matches if match]
        if not matches:
            return self.error(ServiceError("NOT_FOUND", f"no route {verb} {url.path}"))
        route, match = next(((r, m) for r, m in matches if r.verb == verb), (None, None))
        if route is None:
            return self.error(ServiceError("UNIMPLEMENTED", f"method {verb} not allowed on {url.path}"), 405)
        try:
            answer = route.call(build_request(route, match.groups(), url.query, body))
        except ServiceError as error:
            return self.error(error)
        except Exception as error:  # a bug: answered as one (grpcio answers UNKNOWN), and shown
            traceback.print_exc()
            return self.error(ServiceError("INTERNAL", f"{type(error).__name__}: {error}"))
        if route.stream:
            self.stream(answer)
        else:
            self.reply(200, to_json(answer))

    def error(self, error, status=None):
        number, http_status = notes_service.STATUS[error.code]
        self.reply(status or http_status, {"code": number, "message": error.message})

    def reply(self, status, payload):
        data = encode(payload)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, messages):
        """Newline-delimited JSON, one {"result": <message>} a line and a chunk, as grpc-gateway streams."""
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for message in messages:
            line = encode({"result": to_json(message)}) + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass  # one line per call would cost more than the call


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A load generator closes its connections when a run ends: not an error of the server.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stats", metavar="FILE", help="write the socket byte counts here on SIGUSR1 and at exit")
    args = parser.parse_args()
    server = Server((args.host, args.port), Handler)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.stats:
        signal.signal(signal.SIGUSR1, lambda signum, frame: COUNTS.write(args.stats))
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if args.stats:
            COUNTS.write(args.stats)


if __name__ == "__main__":
    main()
