package lsp

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// This file replaces jsonrpc2.NewStream. The stock stream of
// go.lsp.dev/jsonrpc2 v0.10 returns an error from Read on the first message
// it cannot decode, and jsonrpc2's Conn then closes the whole connection: one
// stray byte from a client would end the editing session. Our stream instead
// answers a bad message itself (Parse error -32700, or Invalid Request -32600
// for well-formed JSON that is not a JSON-RPC message), resynchronises on the
// next header and keeps reading. Only a failure of the underlying transport
// (EOF, a closed pipe) ends Read.
//
// How it resynchronises. An LSP message is "Content-Length: N\r\n\r\n" and N
// bytes of JSON. The header line `Content-Length: <digits>` followed by a raw
// line break can never occur inside valid JSON (outside a string the word is
// not a JSON token; inside a string a raw line break is illegal), so seeing it
// inside a body proves the declared length was too large: the bytes before it
// are the bad message, the header starts the next one. A length that is too
// small leaves the rest of the body in front of the next header; header
// parsing skips such garbage up to the next Content-Length. Neither case needs
// a timeout, so a client that sends a wrong length and then a good message
// gets one Parse error and then its answer.

const (
	// MaxMessageBytes bounds one message body. Documents are capped at
	// MaxDocumentBytes (5 MB); JSON escaping can inflate text up to 6x
	// (\u00XX), so 64 MiB leaves room for a didOpen of a capped document
	// while refusing a hostile length that would make us buffer gigabytes.
	MaxMessageBytes = 64 << 20

	// maxHeaderLine bounds how much of one header line we keep. Real headers
	// are under 100 bytes; garbage lines (the tail of a message whose length
	// was too small) are scanned and dropped in pieces of this size.
	maxHeaderLine = 4 << 10

	// readChunk is how much we ask the transport for at a time.
	readChunk = 64 << 10
)

var contentLength = []byte("content-length:")

// Stream is a jsonrpc2.Stream speaking the LSP base protocol that survives
// malformed input. It is safe for one reader and many writers.
type Stream struct {
	rwc io.ReadWriteCloser
	log *slog.Logger

	buf  []byte // unconsumed input is buf[pos:]
	pos  int
	rerr error // sticky transport error from fill

	wmu sync.Mutex // serialises writes (ours and jsonrpc2's)

	// BadMessages counts messages answered with a parse or invalid-request
	// error; tests and logs use it.
	badMu       sync.Mutex
	badMessages int
}

// NewStream wraps a transport. log may be nil.
func NewStream(rwc io.ReadWriteCloser, log *slog.Logger) *Stream {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stream{rwc: rwc, log: log}
}

var _ jsonrpc2.Stream = (*Stream)(nil)

// BadMessages returns how many malformed messages were answered so far.
func (s *Stream) BadMessages() int {
	s.badMu.Lock()
	defer s.badMu.Unlock()
	return s.badMessages
}

// Read returns the next well-formed JSON-RPC message. Malformed messages are
// answered on the stream and skipped.
func (s *Stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		body, err := s.readFrame()
		if err != nil {
			var bad *frameError
			if errors.As(err, &bad) {
				s.reject(nil, jsonrpc2.ParseError, bad.msg)
				continue
			}
			return nil, 0, err
		}
		msg, code, why, id := decodeBody(body)
		if msg == nil {
			if code == jsonrpc2.ParseError {
				// A length too large by less than a header line eats
				// the start of the next header ("Content-Le"): give it
				// back so the next message is still read.
				s.pos -= headerTail(body)
			}
			s.reject(id, code, why)
			continue
		}
		return msg, int64(len(body)), nil
	}
}

// decodeBody turns one body into a message, or says why it cannot:
// ParseError for text that is not JSON, InvalidRequest for JSON that is not
// a JSON-RPC 2.0 request, notification or response. id is the request's raw
// id when one could be read, so that the error reaches the right caller.
func decodeBody(body []byte) (msg jsonrpc2.Message, code jsonrpc2.Code, why string, id stdjson.RawMessage) {
	var probe struct {
		JSONRPC *string            `json:"jsonrpc"`
		ID      stdjson.RawMessage `json:"id"`
		Method  *string            `json:"method"`
	}
	// Unmarshal checks the whole text is valid JSON before decoding, so a
	// SyntaxError means "not JSON" (Parse error); other errors mean JSON of
	// the wrong shape.
	if err := stdjson.Unmarshal(body, &probe); err != nil {
		var syntax *stdjson.SyntaxError
		if errors.As(err, &syntax) {
			return nil, jsonrpc2.ParseError, "message body is not valid JSON: " + err.Error(), nil
		}
		// Valid JSON but not an object (an array is a JSON-RPC batch,
		// which LSP never uses), or a field of the wrong type.
		return nil, jsonrpc2.InvalidRequest, "message is not a JSON-RPC object: " + err.Error(), nil
	}
	if !validID(probe.ID) {
		return nil, jsonrpc2.InvalidRequest, "request id must be an integer or a string", nil
	}
	id = probe.ID
	if probe.JSONRPC == nil || *probe.JSONRPC != "2.0" {
		return nil, jsonrpc2.InvalidRequest, `message lacks "jsonrpc": "2.0"`, id
	}
	if probe.Method != nil && *probe.Method == "" {
		return nil, jsonrpc2.InvalidRequest, "empty method name", id
	}
	func() {
		defer func() {
			if r := recover(); r != nil { // the third-party decoder must not take the session down
				msg, code, why = nil, jsonrpc2.InvalidRequest, fmt.Sprint("undecodable message: ", r)
			}
		}()
		m, err := jsonrpc2.DecodeMessage(body)
		if err != nil {
			msg, code, why = nil, jsonrpc2.InvalidRequest, "undecodable message: "+err.Error()
			return
		}
		msg = m
	}()
	return msg, code, why, id
}

// validID reports whether raw is absent, null, a string, or an integer that
// fits jsonrpc2's int32 ids.
func validID(raw stdjson.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	if raw[0] == '"' {
		var s string
		return stdjson.Unmarshal(raw, &s) == nil
	}
	_, err := strconv.ParseInt(string(raw), 10, 32)
	return err == nil
}

// reject writes an error response for a message we could not take. id is
// the raw JSON id, or nil for "null" (the id could not be read).
func (s *Stream) reject(id stdjson.RawMessage, code jsonrpc2.Code, msg string) {
	s.badMu.Lock()
	s.badMessages++
	s.badMu.Unlock()
	s.log.Warn("rejected malformed message", "code", int(code), "reason", msg)
	if len(id) == 0 {
		id = stdjson.RawMessage("null")
	}
	resp, err := stdjson.Marshal(struct {
		JSONRPC string             `json:"jsonrpc"`
		ID      stdjson.RawMessage `json:"id"`
		Error   jsonrpc2.Error     `json:"error"`
	}{"2.0", id, jsonrpc2.Error{Code: code, Message: msg}})
	if err != nil { // cannot happen: all fields are plain
		s.log.Error("encoding error response", "err", err)
		return
	}
	if err := s.writeFrame(resp); err != nil {
		s.log.Warn("writing error response", "err", err)
	}
}

// frameError is a framing problem local to one message; Read answers it and
// goes on.
type frameError struct{ msg string }

func (e *frameError) Error() string { return e.msg }

// readFrame returns the next body, a *frameError for a bad frame (already
// resynchronised), or the transport's error.
func (s *Stream) readFrame() ([]byte, error) {
	length := -1    // declared Content-Length, -1 if none seen
	lengthErr := "" // why the declared length is unusable
	sawText := false
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, err
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 { // end of a header block
			switch {
			case lengthErr != "":
				return nil, &frameError{lengthErr}
			case length >= 0:
				return s.readBody(length)
			case sawText:
				return nil, &frameError{"header block without Content-Length"}
			default:
				continue // stray blank line between messages: tolerated
			}
		}
		sawText = true
		// The last occurrence: garbage before a header may itself quote
		// "Content-Length:" (a truncated didOpen of this very file).
		i := lastIndexFold(trimmed, contentLength)
		if i < 0 {
			// Another header (Content-Type) or garbage: the tail of a
			// previous message whose length was too small, already
			// answered. Either way there is nothing to do with it.
			continue
		}
		if i > 0 {
			s.log.Debug("skipped bytes before a header", "n", i)
		}
		// A new Content-Length starts a new header block.
		length, lengthErr = -1, ""
		v := string(bytes.TrimSpace(trimmed[i+len(contentLength):]))
		n, perr := strconv.ParseInt(v, 10, 64)
		switch {
		case perr != nil || n < 0:
			lengthErr = fmt.Sprintf("invalid Content-Length %q", v)
		case n == 0:
			lengthErr = "Content-Length is 0"
		case n > MaxMessageBytes:
			lengthErr = fmt.Sprintf("Content-Length %d exceeds the limit of %d bytes", n, MaxMessageBytes)
		default:
			length = int(n)
		}
	}
}

// readLine returns the next line including its '\n'. A line longer than
// maxHeaderLine is returned in pieces; a piece is cut so that a
// "Content-Length:" split across pieces is still seen whole.
func (s *Stream) readLine() ([]byte, error) {
	scanned := 0
	for {
		avail := s.buf[s.pos:]
		if i := bytes.IndexByte(avail[scanned:], '\n'); i >= 0 {
			line := avail[:scanned+i+1]
			s.pos += len(line)
			return line, nil
		}
		scanned = len(avail)
		if len(avail) > maxHeaderLine {
			// Keep a tail that could be the start of "Content-Length:".
			keep := len(contentLength) - 1
			if j := lastIndexFold(avail, contentLength); j >= 0 && j > len(avail)-maxHeaderLine {
				keep = len(avail) - j
			}
			piece := avail[:len(avail)-keep]
			s.pos += len(piece)
			return piece, nil
		}
		if err := s.fill(); err != nil {
			if len(avail) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// readBody reads n bytes of body. If a header appears inside them the
// declared length was too large: the bytes before the header are returned
// as a bad frame and the header is left unread.
func (s *Stream) readBody(n int) ([]byte, error) {
	scanned := 0
	for {
		avail := s.buf[s.pos:]
		limit := min(len(avail), n)
		from := max(0, scanned-64) // a header may straddle two reads
		if j := embeddedHeader(avail[from:limit]); j >= 0 {
			s.pos += from + j
			return nil, &frameError{fmt.Sprintf("message shorter than its Content-Length %d (next header found after %d bytes)", n, from+j)}
		}
		scanned = limit
		if len(avail) >= n {
			// A copy: the decoder keeps strings pointing into the body
			// (the method, error texts), and the next fill overwrites
			// this buffer while handlers may still read them.
			body := bytes.Clone(avail[:n])
			s.pos += n
			return body, nil
		}
		if err := s.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// embeddedHeader finds `Content-Length:[ \t]*[0-9]+[ \t]*\r?\n` in b and
// returns its offset, or -1. The line break is required: without it the text
// could be inside a JSON string.
func embeddedHeader(b []byte) int {
	off := 0
	for {
		i := indexFold(b[off:], contentLength)
		if i < 0 {
			return -1
		}
		start := off + i
		j := start + len(contentLength)
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j > d {
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j < len(b) && b[j] == '\r' {
				j++
			}
			if j < len(b) && b[j] == '\n' {
				return start
			}
		}
		off = start + 1
	}
}

// headerTail returns how many bytes at the end of body are the beginning
// of a header line cut off by the body's end: a non-empty prefix of
// "Content-Length:", or "Content-Length:" followed only by blanks, digits
// and a '\r'. Such bytes cannot end valid JSON.
func headerTail(body []byte) int {
	for k := min(len(body), len(contentLength)-1); k > 0; k-- {
		if lowerEq(body[len(body)-k:], contentLength[:k]) {
			return k
		}
	}
	from := max(0, len(body)-64)
	i := lastIndexFold(body[from:], contentLength)
	if i < 0 {
		return 0
	}
	start := from + i
	for _, c := range body[start+len(contentLength):] {
		if c != ' ' && c != '\t' && c != '\r' && (c < '0' || c > '9') {
			return 0
		}
	}
	return len(body) - start
}

// fill appends more transport input to the buffer.
func (s *Stream) fill() error {
	if s.rerr != nil {
		return s.rerr
	}
	if s.pos > 0 && s.pos >= len(s.buf)/2 { // compact
		n := copy(s.buf, s.buf[s.pos:])
		s.buf = s.buf[:n]
		s.pos = 0
	}
	if cap(s.buf)-len(s.buf) < readChunk {
		nb := make([]byte, len(s.buf), 2*cap(s.buf)+readChunk)
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.rwc.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.rerr = err
		if n > 0 {
			return nil
		}
		return err
	}
	return nil
}

// Write sends one message.
func (s *Stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	data, err := marshalMessage(msg)
	if err != nil {
		return 0, fmt.Errorf("encoding message: %w", err)
	}
	if err := s.writeFrame(data); err != nil {
		return 0, err
	}
	return int64(len(data)), nil
}

func (s *Stream) writeFrame(data []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// One Write call per frame: header and body together, so a reader on
	// the other side never sees a header without its body.
	frame := make([]byte, 0, len(data)+32)
	frame = append(frame, "Content-Length: "...)
	frame = strconv.AppendInt(frame, int64(len(data)), 10)
	frame = append(frame, "\r\n\r\n"...)
	frame = append(frame, data...)
	if _, err := s.rwc.Write(frame); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	return nil
}

// Close closes the transport.
func (s *Stream) Close() error { return s.rwc.Close() }

// indexFold is bytes.Index with ASCII case folding of b; pat is lower case
// and ends in ':', so candidates are found with the fast IndexByte and only
// the bytes before each colon are compared.
func indexFold(b, pat []byte) int {
	last := len(pat) - 1
	for off := last; off < len(b); {
		i := bytes.IndexByte(b[off:], pat[last])
		if i < 0 {
			return -1
		}
		end := off + i // index of the colon
		if start := end - last; lowerEq(b[start:end+1], pat) {
			return start
		}
		off = end + 1
	}
	return -1
}

func lastIndexFold(b, pat []byte) int {
	for i := len(b) - len(pat); i >= 0; i-- {
		if lowerEq(b[i:i+len(pat)], pat) {
			return i
		}
	}
	return -1
}

func lowerEq(b, pat []byte) bool {
	for k := range pat {
		c := b[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != pat[k] {
			return false
		}
	}
	return true
}

// marshalMessage encodes a jsonrpc2 message (its types carry MarshalJSON).
func marshalMessage(msg jsonrpc2.Message) ([]byte, error) { return stdjson.Marshal(msg) }
