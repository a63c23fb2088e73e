// Package calc is servers/calculator.ts for the Go contenders: the same
// operations, the same validation order and the same error texts, so a Go
// server passes the conformance table (servers/contenders/conformance.ts)
// that uses calculator.ts as its oracle. Nothing here knows a protocol; the
// JSON and protobuf decoders hand it what they decoded.
//
// Whatever changes in calculator.ts (a limit, a text) must change here too:
// test/servers/go-contenders.test.ts runs the conformance table against both
// Go servers, so a drift shows up as a failing case, not as silently different text.
package calc

import (
	"fmt"
	"math"
	"strconv"
)

// Limits of servers/calculator.ts (LIMITS).
const (
	MaxValues         = 100000
	MaxBodyBytes      = 4 * 1024 * 1024
	MaxStreamMessages = 1000000
	StreamIdleMs      = 10000
)

// Code is a calculator error code (servers/errors.ts ErrorCode).
type Code string

const (
	InvalidArgument   Code = "INVALID_ARGUMENT"
	OutOfRange        Code = "OUT_OF_RANGE"
	ResourceExhausted Code = "RESOURCE_EXHAUSTED"
	NotFound          Code = "NOT_FOUND"
	Unimplemented     Code = "UNIMPLEMENTED"
	Unavailable       Code = "UNAVAILABLE"
	DeadlineExceeded  Code = "DEADLINE_EXCEEDED"
	Internal          Code = "INTERNAL"
)

// Error is CalcError: a code and the text every protocol carries unchanged.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(code Code, format string, args ...interface{}) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Texts shared with servers/rest-server.ts and servers/grpc-server.ts.
var (
	TooLargeMessage    = fmt.Sprintf("request body is larger than the limit of %d bytes", MaxBodyBytes)
	NotProtobufMessage = "request body is not a valid protobuf message"
	IncompleteMessage  = "request body was incomplete"
	ExtraMessage       = "request body must hold exactly one message"
)

func TooLarge() *Error { return &Error{ResourceExhausted, TooLargeMessage} }

// IdleStreamError is servers/streams.ts idleStreamError.
func IdleStreamError(idleMs int) *Error {
	return errorf(DeadlineExceeded, "stream carried no message for %d ms", idleMs)
}

// Operation names of the REST paths; their gRPC methods are Add, Subtract, ...
const (
	Add      = "add"
	Subtract = "subtract"
	Multiply = "multiply"
	Divide   = "divide"
	Sum      = "sum"
)

func IsOperation(name string) bool {
	switch name {
	case Add, Subtract, Multiply, Divide, Sum:
		return true
	}
	return false
}

func IsStreamOperation(name string) bool {
	return name == "running-sum" || name == "sum-stream" || name == "prefix-sums"
}

// Operand is one decoded field: absent (Set false), or a value of a JSON kind.
// Protobuf fields are always numbers; JSON may carry anything, and
// requireFiniteNumber words the difference as calculator.ts does.
type Operand struct {
	Set bool
	// Kind is what JavaScript's typeof / calculator.ts describe() would say:
	// "number", "string", "boolean", "object", "array"; "null" counts as absent.
	Kind  string
	Value float64
}

func Number(value float64) Operand { return Operand{Set: true, Kind: "number", Value: value} }

func requireFiniteNumber(o Operand, field string) (float64, *Error) {
	if !o.Set || o.Kind == "null" {
		return 0, errorf(InvalidArgument, "field %q is required", field)
	}
	if o.Kind != "number" {
		return 0, errorf(InvalidArgument, "field %q must be a number, got %s", field, o.Kind)
	}
	if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
		return 0, errorf(InvalidArgument, "field %q must be a finite number", field)
	}
	return o.Value, nil
}

func finiteResult(value float64) (float64, *Error) {
	if math.IsInf(value, 0) || math.IsNaN(value) {
		return 0, &Error{OutOfRange, "result is outside the range of a double (overflow)"}
	}
	return value, nil
}

// Binary validates both operands (a first) and applies the operation.
func Binary(operation string, a, b Operand) (float64, *Error) {
	x, err := requireFiniteNumber(a, "a")
	if err != nil {
		return 0, err
	}
	y, err := requireFiniteNumber(b, "b")
	if err != nil {
		return 0, err
	}
	var value float64
	switch operation {
	case Add:
		value = x + y
	case Subtract:
		value = x - y
	case Multiply:
		value = x * y
	case Divide:
		if y == 0 {
			return 0, &Error{InvalidArgument, "division by zero"}
		}
		value = x / y
	default:
		return 0, &Error{Internal, "internal error"}
	}
	return finiteResult(value)
}

// Values is a decoded `values`: absent or null (Set false), not an array
// (Kind says what it is), or the elements.
type Values struct {
	Set   bool
	Kind  string
	Items []Operand
}

// ParseNumbers is calculator.ts parseNumbers: count first, then each value.
func ParseNumbers(values Values) ([]float64, *Error) {
	if values.Set && values.Kind != "array" && values.Kind != "null" {
		return nil, errorf(InvalidArgument, "field \"values\" must be an array of numbers, got %s", values.Kind)
	}
	n := len(values.Items)
	if n == 0 {
		return nil, &Error{InvalidArgument, "field \"values\" must hold at least 1 number"}
	}
	if n > MaxValues {
		return nil, errorf(InvalidArgument, "field \"values\" holds %d numbers, more than the limit of %d", n, MaxValues)
	}
	out := make([]float64, n)
	for i, item := range values.Items {
		value, err := requireFiniteNumber(item, "values["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		out[i] = value
	}
	return out, nil
}

// SumOf adds left to right, as calculator.ts sum does (the same IEEE result).
func SumOf(values []float64) (float64, *Error) {
	total := 0.0
	for _, value := range values {
		total += value
	}
	return finiteResult(total)
}

// RunningTotal is calculator.ts RunningTotal: running-sum and sum-stream.
type RunningTotal struct {
	total float64
	count int
}

// Add validates one stream message's value and returns the total so far.
func (r *RunningTotal) Add(value Operand) (float64, *Error) {
	if r.count == MaxStreamMessages {
		return 0, errorf(InvalidArgument, "stream carries more than the limit of %d messages", MaxStreamMessages)
	}
	v, err := requireFiniteNumber(value, "value")
	if err != nil {
		return 0, err
	}
	r.count++
	total, err := finiteResult(r.total + v)
	if err != nil {
		return 0, err
	}
	r.total = total
	return total, nil
}

// Result is the total of a finished sum-stream; an empty stream is an error, as sum's is.
func (r *RunningTotal) Result() (float64, *Error) {
	if r.count == 0 {
		return 0, &Error{InvalidArgument, "stream must carry at least 1 number"}
	}
	return r.total, nil
}

// PrefixSums calls emit with each running total; an overflow is returned at
// the value that overflows, after the totals before it. emit returning false stops.
func PrefixSums(values []float64, emit func(total float64) bool) *Error {
	total := 0.0
	for _, value := range values {
		next, err := finiteResult(total + value)
		if err != nil {
			return err
		}
		total = next
		if !emit(total) {
			return nil
		}
	}
	return nil
}

// NotAnObject is requireObject's text for a request body (what = "request
// body") or a stream message (what = "message") that is not a JSON object.
func NotAnObject(what, kind string) *Error {
	return errorf(InvalidArgument, "%s must be a JSON object, got %s", what, kind)
}
