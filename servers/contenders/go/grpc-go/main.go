// grpc-go: the calculator over gRPC with google.golang.org/grpc (Debian's
// golang-google-grpc-dev 1.33), every method of proto/calculator.proto: the
// five unary calls and the three streams, with the errors, texts and limits
// of servers/grpc-server.ts (grpc-js).
//
// The service is a hand-written grpc.ServiceDesc with a raw codec: messages
// arrive as bytes and are read with protowire (package pb; why not generated
// code is said there). Every method, the unary ones included, is registered
// as a stream handler, so the handler sees a call with no request message or
// with two, and answers them as grpc-js's server does after grpc-server.ts's
// rewriteTransportStatus (INVALID_ARGUMENT, REST's texts); a MethodDesc
// handler is called only after grpc-go 1.33 has read the one message itself.
//
// The size limit: grpc-go answers a message over its MaxRecvMsgSize with its
// own text ("grpc: received message larger than max (N vs. M)"), written by
// the transport before any handler can reword it. So grpc-go's limit is set
// to twice the calculator's and the handler refuses what is over the
// calculator's (4 MiB) with REST's 413 text, as every other server does; a
// message over 8 MiB still gets grpc-go's own text (same code, RESOURCE_EXHAUSTED).
// Started by servers/contenders/go-contenders.ts; the ready line is this program's.
package main

import (
	"io"
	"time"

	"callbench/calc"
	"callbench/launch"
	"callbench/pb"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

const serviceName = "calculator.v1.Calculator"

// rawCodec passes message bytes through: handlers receive *[]byte and send []byte.
// Registered as "proto", it replaces grpc-go's protobuf codec in this program.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = data
	return nil
}
func (rawCodec) Name() string { return "proto" }

var grpcCode = map[calc.Code]codes.Code{
	calc.InvalidArgument:   codes.InvalidArgument,
	calc.OutOfRange:        codes.OutOfRange,
	calc.ResourceExhausted: codes.ResourceExhausted,
	calc.NotFound:          codes.NotFound,
	calc.Unimplemented:     codes.Unimplemented,
	calc.Unavailable:       codes.Unavailable,
	calc.DeadlineExceeded:  codes.DeadlineExceeded,
	calc.Internal:          codes.Internal,
}

func statusOf(err *calc.Error) error {
	return status.Error(grpcCode[err.Code], err.Message)
}

var notProtobuf = &calc.Error{Code: calc.InvalidArgument, Message: calc.NotProtobufMessage}

// sizeError refuses a message over the calculator's limit with REST's text (see the header).
func sizeError(message []byte) error {
	if len(message) > calc.MaxBodyBytes {
		return statusOf(calc.TooLarge())
	}
	return nil
}

// recvOne reads the one request message of a unary or server-streaming call:
// none is an incomplete body, a second one is refused (grpc-js's texts, reworded by grpc-server.ts).
func recvOne(stream grpc.ServerStream) ([]byte, error) {
	var message []byte
	if err := stream.RecvMsg(&message); err != nil {
		if err == io.EOF {
			return nil, statusOf(&calc.Error{Code: calc.InvalidArgument, Message: calc.IncompleteMessage})
		}
		return nil, err // grpc-go has written its status (RecvMsg answers a failed read itself)
	}
	if err := sizeError(message); err != nil {
		return nil, err
	}
	var extra []byte
	switch err := stream.RecvMsg(&extra); err {
	case io.EOF:
		return message, nil
	case nil:
		return nil, statusOf(&calc.Error{Code: calc.InvalidArgument, Message: calc.ExtraMessage})
	default:
		return nil, err
	}
}

func unary(operation string) grpc.StreamHandler {
	return func(_ interface{}, stream grpc.ServerStream) error {
		message, err := recvOne(stream)
		if err != nil {
			return err
		}
		var value float64
		var calcErr *calc.Error
		if operation == calc.Sum {
			values, decodeErr := pb.Numbers(message)
			if decodeErr != nil {
				return statusOf(notProtobuf)
			}
			numbers, parseErr := calc.ParseNumbers(values)
			if parseErr != nil {
				return statusOf(parseErr)
			}
			value, calcErr = calc.SumOf(numbers)
		} else {
			a, b, decodeErr := pb.Operands(message)
			if decodeErr != nil {
				return statusOf(notProtobuf)
			}
			value, calcErr = calc.Binary(operation, a, b)
		}
		if calcErr != nil {
			return statusOf(calcErr)
		}
		// A new slice per message: SendMsg queues it for the transport's writer.
		return stream.SendMsg(pb.AppendResult(make([]byte, 0, 9), value))
	}
}

type received struct {
	message []byte
	err     error
}

// readStream delivers the call's messages on a channel (so the handler can wait
// on them and on the idle timer at once); it stops at the first error or when done closes.
func readStream(stream grpc.ServerStream, done <-chan struct{}) <-chan received {
	messages := make(chan received)
	go func() {
		for {
			var message []byte
			err := stream.RecvMsg(&message)
			select {
			case messages <- received{message, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return messages
}

func restart(timer *time.Timer, d time.Duration) {
	if !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
	timer.Reset(d)
}

// totals runs running-sum (answer each value with the total so far) and
// sum-stream (answer the total once the client half-closes), ending a stream
// that stays silent for idle with DEADLINE_EXCEEDED, as grpc-server.ts does.
func totals(o launch.Options, answerEach bool) grpc.StreamHandler {
	return func(_ interface{}, stream grpc.ServerStream) error {
		done := make(chan struct{})
		defer close(done)
		messages := readStream(stream, done)
		idle := time.NewTimer(o.StreamIdle)
		defer idle.Stop()
		var running calc.RunningTotal
		for {
			select {
			case <-idle.C:
				return statusOf(calc.IdleStreamError(o.IdleMs))
			case in := <-messages:
				if in.err == io.EOF {
					if answerEach {
						return nil
					}
					total, err := running.Result()
					if err != nil {
						return statusOf(err)
					}
					return stream.SendMsg(pb.AppendResult(make([]byte, 0, 9), total))
				}
				if in.err != nil {
					return in.err
				}
				restart(idle, o.StreamIdle)
				if err := sizeError(in.message); err != nil {
					return err
				}
				value, err := pb.Number(in.message)
				if err != nil {
					return statusOf(notProtobuf)
				}
				total, calcErr := running.Add(value)
				if calcErr != nil {
					return statusOf(calcErr)
				}
				if answerEach {
					// SendMsg blocks while HTTP/2 flow control holds our answers, and this loop
					// stops reading: the client's messages wait in its own window (backpressure).
					if err := stream.SendMsg(pb.AppendResult(make([]byte, 0, 9), total)); err != nil {
						return err
					}
					restart(idle, o.StreamIdle)
				}
			}
		}
	}
}

// prefixSums: the request checked whole, then one Result per value.
func prefixSums(_ interface{}, stream grpc.ServerStream) error {
	message, err := recvOne(stream)
	if err != nil {
		return err
	}
	values, decodeErr := pb.Numbers(message)
	if decodeErr != nil {
		return statusOf(notProtobuf)
	}
	numbers, calcErr := calc.ParseNumbers(values)
	if calcErr != nil {
		return statusOf(calcErr)
	}
	var sendErr error
	calcErr = calc.PrefixSums(numbers, func(total float64) bool {
		sendErr = stream.SendMsg(pb.AppendResult(make([]byte, 0, 9), total))
		return sendErr == nil
	})
	if sendErr != nil {
		return sendErr
	}
	if calcErr != nil {
		return statusOf(calcErr)
	}
	return nil
}

// unknownMethod words an unknown method as grpc-js does.
func unknownMethod(_ interface{}, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	return status.Errorf(codes.Unimplemented, "The server does not implement the method %s", method)
}

func main() {
	o := launch.Parse("grpc-go")
	encoding.RegisterCodec(rawCodec{})
	desc := grpc.ServiceDesc{
		ServiceName: serviceName,
		HandlerType: (*interface{})(nil),
		Streams: []grpc.StreamDesc{
			{StreamName: "Add", Handler: unary(calc.Add)},
			{StreamName: "Subtract", Handler: unary(calc.Subtract)},
			{StreamName: "Multiply", Handler: unary(calc.Multiply)},
			{StreamName: "Divide", Handler: unary(calc.Divide)},
			{StreamName: "Sum", Handler: unary(calc.Sum)},
			{StreamName: "RunningSum", Handler: totals(o, true), ServerStreams: true, ClientStreams: true},
			{StreamName: "SumStream", Handler: totals(o, false), ClientStreams: true},
			{StreamName: "PrefixSums", Handler: prefixSums, ServerStreams: true},
		},
	}
	// The limits of grpc-server.ts's GRPC_SERVER_CHANNEL_OPTIONS (but see MaxRecvMsgSize). Pings are not
	// policed (grpc-go's default sends GOAWAY to a client pinging more than every 5 minutes).
	options := []grpc.ServerOption{
		// Twice the calculator's limit: sizeError answers between the two (see the header).
		grpc.MaxRecvMsgSize(2 * calc.MaxBodyBytes),
		grpc.MaxSendMsgSize(calc.MaxBodyBytes),
		grpc.MaxConcurrentStreams(1000),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Millisecond, PermitWithoutStream: true}),
		grpc.UnknownServiceHandler(unknownMethod),
	}
	if o.TLS != nil {
		options = append(options, grpc.Creds(credentials.NewTLS(o.TLS)))
	}
	server := grpc.NewServer(options...)
	server.RegisterService(&desc, struct{}{})
	listener := launch.Listen(o)
	go func() {
		if err := server.Serve(listener); err != nil {
			launch.Fail("grpc-go server: %v", err)
		}
	}()
	launch.Ready(o, launch.HostPort(o.Host, launch.Port(listener)))
	launch.Run(o, func() {
		// In-flight calls finish (at most 5 s, as grpc-server.ts's close), then the rest are cut.
		stopped := make(chan struct{})
		go func() {
			server.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			server.Stop()
		}
	})
}
