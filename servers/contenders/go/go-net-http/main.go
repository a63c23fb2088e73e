// go-net-http: the calculator's REST API (servers/rest-server.ts, express)
// on Go's net/http and encoding/json, HTTP/1.1 only: GET /healthz, POST
// /v1/<op> with JSON, the same status codes, error shape and texts; and the
// streams of servers/rest-streams.ts: NDJSON running-sum and sum-stream,
// prefix-sums as NDJSON or Server-Sent Events, and the WebSocket running-sum
// (golang.org/x/net/websocket, Debian's golang-golang-x-net-dev).
//
// Two things differ from express on purpose, both for Go 1.19's net/http:
//   - An NDJSON stream's response says "connection: close". net/http 1.19
//     has no full-duplex HTTP/1.1 mode (ResponseController.EnableFullDuplex
//     is Go 1.21): when the response headers go out before the request body
//     ended, it first reads up to 256 KiB of the body to discard it, which
//     blocks a running-sum whose client waits for each answer. A response
//     marked "connection: close" skips that read, and the handler reads the
//     rest of the body itself; the connection is not reused afterwards.
//   - JSON numbers are read with json.Number and strconv.ParseFloat, so
//     1e400 is +Inf as JSON.parse gives it (the calculator then says "must be a
//     finite number"), and results are written as JavaScript prints a number
//     (the rule encoding/json uses for float64, -0 as 0, as JSON.stringify).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"callbench/calc"
	"callbench/launch"

	"golang.org/x/net/websocket"
)

var httpStatus = map[calc.Code]int{
	calc.InvalidArgument:   400,
	calc.OutOfRange:        400,
	calc.ResourceExhausted: 413,
	calc.NotFound:          404,
	calc.Unimplemented:     405,
	calc.Unavailable:       503,
	calc.DeadlineExceeded:  504,
	calc.Internal:          500,
}

const (
	jsonType   = "application/json; charset=utf-8"
	ndjsonType = "application/x-ndjson"
	sseType    = "text/event-stream"
	wsPath     = "/v1/running-sum"
	// Answers of one input chunk, or of a run of prefix sums, go out as one write of at most about this much.
	maxBatchBytes = 16 * 1024
)

// The app's texts (servers/rest-server.ts REST_MESSAGES, rest-streams.ts STREAM_MESSAGES, rest-protocol.ts).
var (
	notJSON         = "request body is not valid JSON"
	messageNotJSON  = "message is not valid JSON"
	notText         = "WebSocket messages must be text frames"
	charsetText     = "content-type charset must be utf-8"
	contentEncoding = "content-encoding must be identity (compressed bodies are not accepted)"
	contentTypeText = func(t string) string { return "content-type must be " + t }
	notFoundText    = func(method, path string) string { return "no route for " + method + " " + clip(path) }
	wrongMethodText = func(method, path string) string {
		return "method " + clip(method) + " is not allowed on " + clip(path) + "; use POST"
	}
	noWebSocketText = func(path string) string {
		return "no WebSocket at " + clip(path) + "; the WebSocket stream is " + wsPath
	}
	callPath          = regexp.MustCompile(`(?i)^/v1/([^/]+)/?$`)
	healthPath        = regexp.MustCompile(`(?i)^/healthz/?$`)
	charsetParameter  = regexp.MustCompile(`(?i);\s*charset\s*=\s*"?([^";\s]+)`)
	incompleteError   = &calc.Error{Code: calc.InvalidArgument, Message: calc.IncompleteMessage}
	errLineTooLong    = errors.New("line over the limit")
	utf8BOM           = []byte{0xef, 0xbb, 0xbf}
	serviceHealthBody = []byte(`{"status":"SERVING"}`)
)

// clip is rest-server.ts clip: echoed request text is cut at 200 characters.
func clip(text string) string {
	if len(text) > 200 {
		return text[:200] + "..."
	}
	return text
}

// ---- JSON ----

// appendNumber writes a float64 as JavaScript's Number#toString does (and encoding/json).
func appendNumber(b []byte, f float64) []byte {
	if f == 0 {
		return append(b, '0')
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func valueJSON(b []byte, value float64) []byte {
	b = append(b, `{"value":`...)
	b = appendNumber(b, value)
	return append(b, '}')
}

// errorJSON is {"error":{"code","message"}}, strings escaped as JSON.stringify does (no HTML escaping).
func errorJSON(err *calc.Error) []byte {
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(map[string]map[string]string{"error": {"code": string(err.Code), "message": err.Message}})
	return bytes.TrimRight(out.Bytes(), "\n")
}

// jsTrimmedEmpty: what String#trim() leaves empty (JavaScript's white space and line terminators).
func jsTrimmedEmpty(text []byte) bool {
	return len(bytes.TrimFunc(text, func(r rune) bool { return r == 0xfeff || (unicode.IsSpace(r) && r != 0x85) })) == 0
}

// parseJSON is JSON.parse on UTF-8 bytes (a leading BOM dropped); ok false for what JSON.parse rejects.
// Blank text reads as emptyAs (the unary body: an empty object; a stream line: skipped).
func parseJSON(text []byte, emptyAs interface{}) (value interface{}, ok bool) {
	text = bytes.TrimPrefix(text, utf8BOM)
	if !utf8.Valid(text) {
		return nil, false
	}
	if jsTrimmedEmpty(text) {
		return emptyAs, emptyAs != nil
	}
	decoder := json.NewDecoder(bytes.NewReader(text))
	decoder.UseNumber()
	if err := decoder.Decode(&value); err != nil {
		return nil, false
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, false
	}
	return value, true
}

// kind is calculator.ts describe(): what typeof says, with null and array apart.
func kind(value interface{}) string {
	switch value.(type) {
	case nil:
		return "null"
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []interface{}:
		return "array"
	}
	return "object"
}

func operand(value interface{}, present bool) calc.Operand {
	if !present {
		return calc.Operand{}
	}
	if number, ok := value.(json.Number); ok {
		// Out of range: ParseFloat gives ±Inf (or 0), what JSON.parse gives.
		f, _ := strconv.ParseFloat(string(number), 64)
		return calc.Number(f)
	}
	return calc.Operand{Set: true, Kind: kind(value)}
}

func field(object map[string]interface{}, name string) calc.Operand {
	value, present := object[name]
	return operand(value, present)
}

// calculate is calculator.ts calculate on what JSON.parse delivered.
func calculate(operation string, input interface{}) (float64, *calc.Error) {
	object, ok := input.(map[string]interface{})
	if !ok {
		return 0, calc.NotAnObject("request body", kind(input))
	}
	if operation != calc.Sum {
		return calc.Binary(operation, field(object, "a"), field(object, "b"))
	}
	numbers, err := parseNumbers(object)
	if err != nil {
		return 0, err
	}
	return calc.SumOf(numbers)
}

func parseNumbers(object map[string]interface{}) ([]float64, *calc.Error) {
	raw, present := object["values"]
	values := calc.Values{Set: present, Kind: kind(raw)}
	if items, ok := raw.([]interface{}); ok {
		values.Items = make([]calc.Operand, len(items))
		for i, item := range items {
			values.Items[i] = operand(item, true)
		}
	}
	return calc.ParseNumbers(values)
}

// streamValue is one stream message {"value": x}: an object, then its value.
func streamValue(message interface{}) (calc.Operand, *calc.Error) {
	object, ok := message.(map[string]interface{})
	if !ok {
		return calc.Operand{}, calc.NotAnObject("message", kind(message))
	}
	return field(object, "value"), nil
}

// ---- HTTP ----

func reply(w http.ResponseWriter, status int, contentType string, body []byte) {
	header := w.Header()
	header.Set("Content-Type", contentType)
	header.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func sendError(w http.ResponseWriter, err *calc.Error, status int) {
	if status == 0 {
		status = httpStatus[err.Code]
	}
	reply(w, status, jsonType, errorJSON(err))
}

// bodyError answers before or while the body is read: the connection closes after it, the rest is never read.
func bodyError(w http.ResponseWriter, err *calc.Error, status int) {
	w.Header().Set("Connection", "close")
	sendError(w, err, status)
}

func mediaType(contentType string) string {
	if semi := strings.IndexByte(contentType, ';'); semi != -1 {
		contentType = contentType[:semi]
	}
	return strings.ToLower(strings.TrimSpace(contentType))
}

// hasBody is type-is's: a transfer-encoding, or a numeric content-length.
func hasBody(r *http.Request) bool {
	if len(r.TransferEncoding) > 0 {
		return true
	}
	declared := r.Header.Get("Content-Length")
	if declared == "" {
		return false
	}
	_, err := strconv.ParseFloat(declared, 64)
	return err == nil
}

// refuseUnary is rest-protocol.ts refuseBody for JSON: media type, charset, content-encoding (415).
func refuseUnary(r *http.Request) *calc.Error {
	contentType := r.Header.Get("Content-Type")
	if !hasBody(r) || mediaType(contentType) != "application/json" {
		return &calc.Error{Code: calc.InvalidArgument, Message: contentTypeText("application/json")}
	}
	if match := charsetParameter.FindStringSubmatch(contentType); match != nil {
		if set := strings.ToLower(match[1]); set != "utf-8" && set != "utf8" {
			return &calc.Error{Code: calc.InvalidArgument, Message: charsetText}
		}
	}
	if encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); encoding != "" && encoding != "identity" {
		return &calc.Error{Code: calc.InvalidArgument, Message: contentEncoding}
	}
	return nil
}

// readBody reads the whole body under the limit: 413 at once when content-length says so, or the moment it is crossed.
func readBody(r *http.Request) ([]byte, *calc.Error) {
	if r.ContentLength > calc.MaxBodyBytes {
		return nil, calc.TooLarge()
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength)
	}
	buffer := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buffer.ReadFrom(io.LimitReader(r.Body, calc.MaxBodyBytes+1))
	if n > calc.MaxBodyBytes {
		return nil, calc.TooLarge()
	}
	if err != nil {
		return nil, incompleteError
	}
	return buffer.Bytes(), nil
}

type server struct {
	o         launch.Options
	websocket websocket.Server
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if isUpgrade(r) {
		// express's 'upgrade' event: the WebSocket at /v1/running-sum, a JSON 404 anywhere else.
		if path != wsPath || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			bodyError(w, &calc.Error{Code: calc.NotFound, Message: noWebSocketText(path)}, 404)
			return
		}
		s.websocket.ServeHTTP(w, r)
		return
	}
	if healthPath.MatchString(path) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			reply(w, 200, jsonType, serviceHealthBody)
			return
		}
		sendError(w, &calc.Error{Code: calc.NotFound, Message: notFoundText(r.Method, path)}, 0)
		return
	}
	name := ""
	if match := callPath.FindStringSubmatch(path); match != nil {
		if decoded, err := url.PathUnescape(match[1]); err == nil {
			name = decoded
		}
	}
	switch {
	case (calc.IsOperation(name) || calc.IsStreamOperation(name)) && r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		sendError(w, &calc.Error{Code: calc.Unimplemented, Message: wrongMethodText(r.Method, path)}, 0)
	case calc.IsOperation(name):
		s.call(w, r, name)
	case name == "running-sum":
		s.ndjsonTotals(w, r, true)
	case name == "sum-stream":
		s.ndjsonTotals(w, r, false)
	case name == "prefix-sums":
		s.prefixSums(w, r)
	default:
		sendError(w, &calc.Error{Code: calc.NotFound, Message: notFoundText(r.Method, path)}, 0)
	}
}

func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, token := range strings.Split(r.Header.Get("Connection"), ",") {
		if strings.EqualFold(strings.TrimSpace(token), "upgrade") {
			return true
		}
	}
	return false
}

// call: POST /v1/<operation>.
func (s *server) call(w http.ResponseWriter, r *http.Request, operation string) {
	if refusal := refuseUnary(r); refusal != nil {
		bodyError(w, refusal, 415)
		return
	}
	body, err := readBody(r)
	if err != nil {
		bodyError(w, err, 0)
		return
	}
	input, ok := parseJSON(body, map[string]interface{}{})
	if !ok {
		sendError(w, &calc.Error{Code: calc.InvalidArgument, Message: notJSON}, 0)
		return
	}
	value, calcErr := calculate(operation, input)
	if calcErr != nil {
		sendError(w, calcErr, 0)
		return
	}
	reply(w, 200, jsonType, valueJSON(make([]byte, 0, 32), value))
}

// ---- NDJSON streams ----

// lineSplitter is rest-streams.ts LineSplitter: lines split on \n (a \r before it dropped), none over the limit.
type lineSplitter struct{ pending []byte }

func (l *lineSplitter) push(chunk []byte, each func(line []byte) bool) error {
	for {
		end := bytes.IndexByte(chunk, '\n')
		if end == -1 {
			break
		}
		line := chunk[:end]
		if len(l.pending) > 0 {
			line = append(l.pending, line...)
			l.pending = l.pending[:0]
		}
		if len(line) > calc.MaxBodyBytes {
			return errLineTooLong
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if !each(line) {
			return nil
		}
		chunk = chunk[end+1:]
	}
	if len(l.pending)+len(chunk) > calc.MaxBodyBytes {
		return errLineTooLong
	}
	l.pending = append(l.pending, chunk...)
	return nil
}

type chunk struct {
	data []byte
	err  error
}

// readChunks reads the body on its own goroutine, so the handler can wait on
// it and on the idle timer at once; each chunk's buffer is reused once the
// handler acknowledges it, so nothing is read ahead of what was handled.
func readChunks(body io.Reader, done <-chan struct{}) (<-chan chunk, chan<- struct{}) {
	chunks := make(chan chunk)
	ack := make(chan struct{})
	go func() {
		buffer := make([]byte, 32*1024)
		for {
			n, err := body.Read(buffer)
			select {
			case chunks <- chunk{buffer[:n], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
			select {
			case <-ack:
			case <-done:
				return
			}
		}
	}()
	return chunks, ack
}

func isNdjson(r *http.Request) bool {
	return hasBody(r) && mediaType(r.Header.Get("Content-Type")) == ndjsonType
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

// ndjsonTotals: POST /v1/running-sum (answerEach: a line per line, as it arrives)
// and POST /v1/sum-stream (the total at the end, as a unary answer).
func (s *server) ndjsonTotals(w http.ResponseWriter, r *http.Request, answerEach bool) {
	if !isNdjson(r) {
		bodyError(w, &calc.Error{Code: calc.InvalidArgument, Message: contentTypeText(ndjsonType)}, 415)
		return
	}
	flusher, _ := w.(http.Flusher)
	if answerEach {
		header := w.Header()
		header.Set("Content-Type", ndjsonType)
		header.Set("Cache-Control", "no-store")
		// Full duplex on Go 1.19's HTTP/1.1: see the header of this file.
		header.Set("Connection", "close")
		w.WriteHeader(200)
		// Headers now: the client knows the stream is open before the first answer.
		flusher.Flush()
	}
	// A stream's failure: running-sum ends with an error line; sum-stream answers the error (and closes: the body is unread).
	fail := func(err *calc.Error, batch []byte) {
		if answerEach {
			batch = append(append(batch, errorJSON(err)...), '\n')
			_, _ = w.Write(batch)
			return
		}
		bodyError(w, err, 0)
	}
	done := make(chan struct{})
	defer close(done)
	chunks, ack := readChunks(r.Body, done)
	idle := time.NewTimer(s.o.StreamIdle)
	defer idle.Stop()
	var running calc.RunningTotal
	var lines lineSplitter
	batch := make([]byte, 0, 256)
	// handle answers each line into batch; false (and the error) stops the stream.
	handle := func(line []byte) (*calc.Error, bool) {
		message, ok := parseJSON(line, nil)
		if !ok {
			if jsTrimmedEmpty(bytes.TrimPrefix(line, utf8BOM)) && utf8.Valid(line) {
				return nil, true // a blank line is skipped, as most NDJSON readers do
			}
			return &calc.Error{Code: calc.InvalidArgument, Message: messageNotJSON}, false
		}
		value, err := streamValue(message)
		if err != nil {
			return err, false
		}
		total, err := running.Add(value)
		if err != nil {
			return err, false
		}
		if answerEach {
			batch = append(valueJSON(batch, total), '\n')
		}
		return nil, true
	}
	for {
		select {
		case <-idle.C:
			fail(calc.IdleStreamError(s.o.IdleMs), nil)
			return
		case in := <-chunks:
			restart(idle, s.o.StreamIdle)
			batch = batch[:0]
			var failure *calc.Error
			if len(in.data) > 0 {
				pushErr := lines.push(in.data, func(line []byte) bool {
					err, ok := handle(line)
					failure = err
					return ok
				})
				if pushErr != nil {
					failure = calc.TooLarge()
				}
			}
			if failure == nil && in.err == io.EOF && len(lines.pending) > 0 {
				// The last line may end without \n (NDJSON allows it).
				failure, _ = handle(lines.pending)
			}
			if failure != nil {
				fail(failure, batch)
				return
			}
			if len(batch) > 0 {
				// Write blocks while the client does not read: this loop stops reading, TCP pushes back.
				if _, err := w.Write(batch); err != nil {
					return
				}
				flusher.Flush()
			}
			if in.err == io.EOF {
				if !answerEach {
					total, err := running.Result()
					if err != nil {
						sendError(w, err, 0)
						return
					}
					reply(w, 200, jsonType, valueJSON(nil, total))
				}
				return
			}
			if in.err != nil {
				// The client went away (or broke the chunked encoding): nothing to answer.
				return
			}
			ack <- struct{}{}
		}
	}
}

// prefixSums: POST /v1/prefix-sums {"values":[...]}: checked whole (a unary
// error before any answer), then one total per value, as SSE events to a client
// that prefers text/event-stream, NDJSON lines otherwise.
func (s *server) prefixSums(w http.ResponseWriter, r *http.Request) {
	if !hasBody(r) || mediaType(r.Header.Get("Content-Type")) != "application/json" {
		bodyError(w, &calc.Error{Code: calc.InvalidArgument, Message: contentTypeText("application/json")}, 415)
		return
	}
	body, err := readBody(r)
	if err != nil {
		bodyError(w, err, 0)
		return
	}
	input, ok := parseJSON(body, map[string]interface{}{})
	if !ok {
		sendError(w, &calc.Error{Code: calc.InvalidArgument, Message: notJSON}, 0)
		return
	}
	object, isObject := input.(map[string]interface{})
	if !isObject {
		sendError(w, calc.NotAnObject("request body", kind(input)), 0)
		return
	}
	numbers, calcErr := parseNumbers(object)
	if calcErr != nil {
		sendError(w, calcErr, 0)
		return
	}
	sse := prefersSSE(r.Header.Get("Accept"))
	contentType := ndjsonType
	if sse {
		contentType = sseType
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	flusher, _ := w.(http.Flusher)
	batch := make([]byte, 0, maxBatchBytes+64)
	var writeErr error
	calcErr = calc.PrefixSums(numbers, func(total float64) bool {
		if sse {
			batch = append(batch, "data: "...)
			batch = append(valueJSON(batch, total), '\n', '\n')
		} else {
			batch = append(valueJSON(batch, total), '\n')
		}
		if len(batch) >= maxBatchBytes {
			_, writeErr = w.Write(batch)
			flusher.Flush()
			batch = batch[:0]
		}
		return writeErr == nil
	})
	if writeErr != nil {
		return
	}
	if calcErr != nil {
		if sse {
			batch = append(batch, "event: error\ndata: "...)
			batch = append(append(batch, errorJSON(calcErr)...), '\n', '\n')
		} else {
			batch = append(append(batch, errorJSON(calcErr)...), '\n')
		}
	}
	_, _ = w.Write(batch)
}

// prefersSSE is express's req.accepts([ndjson, sse]) === sse with text/event-stream named:
// the higher q wins; at equal q, the one named first in the header.
func prefersSSE(accept string) bool {
	sseQ, sseAt, ndjsonQ, ndjsonAt := -1.0, -1, -1.0, -1
	for i, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		media := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, parameter := range fields[1:] {
			if kv := strings.SplitN(strings.TrimSpace(parameter), "=", 2); len(kv) == 2 && strings.EqualFold(kv[0], "q") {
				if parsed, err := strconv.ParseFloat(kv[1], 64); err == nil {
					q = parsed
				}
			}
		}
		switch media {
		case sseType:
			sseQ, sseAt = q, i
		case ndjsonType:
			ndjsonQ, ndjsonAt = q, i
		}
	}
	if sseAt == -1 || sseQ <= 0 {
		return false
	}
	return ndjsonAt == -1 || sseQ > ndjsonQ || (sseQ == ndjsonQ && sseAt < ndjsonAt)
}

// ---- WebSocket ----

// WebSocket close codes (RFC 6455 §7.4.1) after an error message, as rest-streams.ts WS_CLOSE.
const (
	closeInvalidData     = 1007
	closeUnsupportedData = 1003
	closePolicy          = 1008
	closeTooBig          = 1009
)

type frame struct {
	data        []byte
	payloadType byte
}

var frames = websocket.Codec{
	Marshal: func(v interface{}) ([]byte, byte, error) { return v.([]byte), websocket.TextFrame, nil },
	Unmarshal: func(data []byte, payloadType byte, v interface{}) error {
		*(v.(*frame)) = frame{data, payloadType}
		return nil
	},
}

// serveWebSocket: GET /v1/running-sum upgraded; each text frame {"value":x} answered with {"value":total}.
func (s *server) serveWebSocket(ws *websocket.Conn) {
	ws.MaxPayloadBytes = calc.MaxBodyBytes
	var running calc.RunningTotal
	fail := func(err *calc.Error, code int) {
		_ = frames.Send(ws, errorJSON(err))
		// WriteClose sends the close frame with this code; the server closes the TCP connection when we return.
		_ = ws.WriteClose(code)
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(s.o.StreamIdle))
		var in frame
		if err := frames.Receive(ws, &in); err != nil {
			var netErr net.Error
			switch {
			case errors.As(err, &netErr) && netErr.Timeout():
				fail(calc.IdleStreamError(s.o.IdleMs), closePolicy)
			case errors.Is(err, websocket.ErrFrameTooLarge):
				_ = ws.WriteClose(closeTooBig)
			case err == io.EOF:
				// The client closed: answer its close.
				_ = ws.Close()
			}
			return
		}
		if in.payloadType != websocket.TextFrame {
			fail(&calc.Error{Code: calc.InvalidArgument, Message: notText}, closeUnsupportedData)
			return
		}
		message, ok := parseJSON(in.data, nil)
		if !ok {
			fail(&calc.Error{Code: calc.InvalidArgument, Message: messageNotJSON}, closeInvalidData)
			return
		}
		value, err := streamValue(message)
		var total float64
		if err == nil {
			total, err = running.Add(value)
		}
		if err != nil {
			fail(err, closeInvalidData)
			return
		}
		if sendErr := frames.Send(ws, valueJSON(make([]byte, 0, 32), total)); sendErr != nil {
			return
		}
	}
}

func main() {
	o := launch.Parse("go-net-http")
	s := &server{o: o}
	s.websocket = websocket.Server{
		// No Origin check: the bench's clients are not browsers (x/net/websocket refuses a missing Origin by default).
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   s.serveWebSocket,
	}
	// The limits of servers/rest-server.ts (REST_SERVER_LIMITS); requestTimeout has no net/http
	// equivalent that spares a long stream, so a body's read is bounded by the stream idle time only.
	httpServer := &http.Server{
		Handler:           s,
		MaxHeaderBytes:    16 * 1024,
		ReadHeaderTimeout: 66 * time.Second,
		IdleTimeout:       65 * time.Second,
		// HTTP/1.1 only, over TLS too (net/http would offer h2 by ALPN): the contender's wire is http1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	listener := launch.Listen(o)
	scheme := "http"
	if o.TLS != nil {
		httpServer.TLSConfig = o.TLS
		scheme = "https"
	}
	go func() {
		var err error
		if o.TLS != nil {
			err = httpServer.ServeTLS(listener, "", "")
		} else {
			err = httpServer.Serve(listener)
		}
		if err != nil && err != http.ErrServerClosed {
			launch.Fail("go-net-http server: %v", err)
		}
	}()
	launch.Ready(o, scheme+"://"+launch.HostPort(o.Host, launch.Port(listener)))
	launch.Run(o, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpServer.Shutdown(ctx)
	})
}
