"""A calculator gRPC server in Python (grpcio), with no health service: the
kind of server `npm run bench -- --grpc-target` measures as it is.

Stubs come from the repository's proto/calculator.proto (see
docs/bench-your-server.md):

    protoc -I proto --python_out=DIR --grpc_out=DIR \
      --plugin=protoc-gen-grpc=$(which grpc_python_plugin) proto/calculator.proto
    PYTHONPATH=DIR /usr/bin/python3 examples/python/grpc_server.py --port 50061

Prints "listening on 127.0.0.1:<port>" once it accepts calls.
"""
import argparse
import math
from concurrent import futures

import grpc

import calculator_pb2
import calculator_pb2_grpc


def operands(request, context):
    if not request.HasField("a") or not request.HasField("b"):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fields a and b are required")
    return request.a, request.b


def result(value, context):
    if not math.isfinite(value):
        context.abort(grpc.StatusCode.OUT_OF_RANGE, "result is not a finite number")
    return calculator_pb2.Result(value=value)


class Calculator(calculator_pb2_grpc.CalculatorServicer):
    def Add(self, request, context):
        a, b = operands(request, context)
        return result(a + b, context)

    def Subtract(self, request, context):
        a, b = operands(request, context)
        return result(a - b, context)

    def Multiply(self, request, context):
        a, b = operands(request, context)
        return result(a * b, context)

    def Divide(self, request, context):
        a, b = operands(request, context)
        if b == 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "division by zero")
        return result(a / b, context)

    def Sum(self, request, context):
        if len(request.values) == 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "values must hold at least 1 number")
        total = 0.0
        for value in request.values:  # left to right, as the Node calculator adds
            total += value
        return result(total, context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    calculator_pb2_grpc.add_CalculatorServicer_to_server(Calculator(), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    print(f"listening on {args.host}:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
