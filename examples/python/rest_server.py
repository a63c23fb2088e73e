"""A calculator REST/JSON server on Python's standard library (http.server),
with POST /v1/<op> and no /healthz: the kind of server
`npm run bench -- --rest-target` measures as it is.

    /usr/bin/python3 examples/python/rest_server.py --port 3061

HTTP/1.1 keep-alive, one thread per connection. Prints
"listening on http://127.0.0.1:<port>" once it accepts calls.
"""
import argparse
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BINARY = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
}


class BadRequest(Exception):
    pass


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def calculate(operation, body):
    if operation == "sum":
        values = body.get("values")
        if not isinstance(values, list) or not values or not all(is_number(v) for v in values):
            raise BadRequest("values must be a non-empty array of numbers")
        total = 0.0
        for value in values:  # left to right, as the Node calculator adds
            total += value
        return total
    a, b = body.get("a"), body.get("b")
    if not is_number(a) or not is_number(b):
        raise BadRequest("fields a and b must be numbers")
    if operation == "divide" and b == 0:
        raise BadRequest("division by zero")
    return BINARY[operation](float(a), float(b))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the bench's REST clients expect
    # Headers and body go out as two writes; with Nagle on, the body waits for
    # the client's delayed ACK (~40 ms a call on a kept-alive connection).
    disable_nagle_algorithm = True

    def do_POST(self):
        operation = self.path.removeprefix("/v1/")
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not self.path.startswith("/v1/") or (operation not in BINARY and operation != "sum"):
            return self.reply(404, {"error": {"code": "NOT_FOUND", "message": f"no route POST {self.path}"}})
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise BadRequest("request body must be a JSON object")
            value = calculate(operation, request)
        except (ValueError, BadRequest) as error:
            return self.reply(400, {"error": {"code": "INVALID_ARGUMENT", "message": str(error)}})
        if not math.isfinite(value):
            return self.reply(400, {"error": {"code": "OUT_OF_RANGE", "message": "result is not a finite number"}})
        self.reply(200, {"value": value})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
    args = parser.parse_args()
    server = Server((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
