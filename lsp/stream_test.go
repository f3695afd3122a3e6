package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

// pipeRWC is an in-memory transport: reads come from in, writes go to out.
type pipeRWC struct {
	in  io.Reader
	out bytes.Buffer
}

func (p *pipeRWC) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipeRWC) Write(b []byte) (int, error) { return p.out.Write(b) }
func (p *pipeRWC) Close() error                { return nil }

// oneByteReader delivers input a byte at a time, the worst case for
// resynchronisation across reads.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(b []byte) (int, error) {
	if len(b) > 1 {
		b = b[:1]
	}
	return o.r.Read(b)
}

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// readAll reads messages until the transport ends and returns the methods
// (or "response") of the messages read, the error responses written, and
// the final error.
func readAll(t testing.TB, input string, byteAtATime bool) (got []string, replies []wireReply, final error) {
	t.Helper()
	var r io.Reader = strings.NewReader(input)
	if byteAtATime {
		r = oneByteReader{r}
	}
	rwc := &pipeRWC{in: r}
	s := NewStream(rwc, nil)
	for {
		msg, _, err := s.Read(context.Background())
		if err != nil {
			final = err
			break
		}
		switch m := msg.(type) {
		case jsonrpc2.Request:
			got = append(got, m.Method())
		case *jsonrpc2.Response:
			got = append(got, "response")
		}
		if len(got) > 10000 {
			t.Fatalf("runaway reader")
		}
	}
	replies = parseFrames(t, rwc.out.Bytes())
	if len(replies) != s.BadMessages() {
		t.Errorf("BadMessages = %d, replies written = %d", s.BadMessages(), len(replies))
	}
	return got, replies, final
}

type wireReply struct {
	ID    json.RawMessage `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseFrames splits well-formed output frames; any malformation fails t.
func parseFrames(t testing.TB, out []byte) []wireReply {
	t.Helper()
	var rs []wireReply
	for len(out) > 0 {
		var n int
		if _, err := fmt.Sscanf(string(out), "Content-Length: %d\r\n\r\n", &n); err != nil {
			t.Fatalf("bad output frame %q: %v", out, err)
		}
		i := bytes.Index(out, []byte("\r\n\r\n")) + 4
		var r wireReply
		if err := json.Unmarshal(out[i:i+n], &r); err != nil {
			t.Fatalf("bad output body %q: %v", out[i:i+n], err)
		}
		rs = append(rs, r)
		out = out[i+n:]
	}
	return rs
}

const (
	okCall   = `{"jsonrpc":"2.0","id":1,"method":"ok"}`
	okNotify = `{"jsonrpc":"2.0","method":"note","params":{"x":"Content-Length: 12"}}`
)

func TestStreamRecovers(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // methods read, in order
		codes []int    // error codes written, in order
	}{
		{"valid", frame(okCall) + frame(okNotify), []string{"ok", "note"}, nil},
		{"content-type and lower-case header", "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: " + fmt.Sprint(len(okCall)) + "\r\n\r\n" + okCall, []string{"ok"}, nil},
		{"malformed JSON then valid", frame(`{"jsonrpc":"2.0","id":1,`) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length too small", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", 10, okNotify) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length too large", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", 500, okNotify) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length too large by one", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(okNotify)+1, okNotify) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length too large by a header", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(okNotify)+19, okNotify) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length far too large", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", MaxMessageBytes+1, okNotify) + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length not a number", "Content-Length: ten\r\n\r\n" + okNotify + frame(okCall), []string{"ok"}, []int{-32700}},
		{"length zero", "Content-Length: 0\r\n\r\n" + frame(okCall), []string{"ok"}, []int{-32700}},
		{"no length", "Content-Type: x\r\n\r\n" + frame(okCall), []string{"ok"}, []int{-32700}},
		{"garbage line", "hello\r\n\r\n" + frame(okCall), []string{"ok"}, []int{-32700}},
		{"blank lines between messages", "\r\n\r\n" + frame(okCall) + "\r\n" + frame(okNotify), []string{"ok", "note"}, nil},
		{"batch is not supported", frame(`[`+okCall+`]`) + frame(okCall), []string{"ok"}, []int{-32600}},
		{"missing version", frame(`{"id":3,"method":"x"}`) + frame(okCall), []string{"ok"}, []int{-32600}},
		{"fractional id", frame(`{"jsonrpc":"2.0","id":1.5,"method":"x"}`) + frame(okCall), []string{"ok"}, []int{-32600}},
		{"JSON scalar", frame(`42`) + frame(okCall), []string{"ok"}, []int{-32600}},
		{"response from client", frame(`{"jsonrpc":"2.0","id":7,"result":null}`), []string{"response"}, nil},
		{"long garbage without newline", strings.Repeat("x", 3*maxHeaderLine+7) + frame(okCall), []string{"ok"}, nil},
	}
	for _, tt := range tests {
		for _, slow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bytewise=%v", tt.name, slow), func(t *testing.T) {
				got, replies, final := readAll(t, tt.input, slow)
				if !errors.Is(final, io.EOF) && !errors.Is(final, io.ErrUnexpectedEOF) {
					t.Errorf("final error = %v, want EOF", final)
				}
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("read %q, want %q", got, tt.want)
				}
				var codes []int
				for _, r := range replies {
					if r.Error == nil {
						t.Fatalf("reply without error: %+v", r)
					}
					codes = append(codes, r.Error.Code)
				}
				if fmt.Sprint(codes) != fmt.Sprint(tt.codes) {
					t.Errorf("error codes %v, want %v (replies %+v)", codes, tt.codes, replies)
				}
			})
		}
	}
}

func TestStreamInvalidRequestKeepsID(t *testing.T) {
	_, replies, _ := readAll(t, frame(`{"id":"abc","method":"x"}`), false)
	if len(replies) != 1 || string(replies[0].ID) != `"abc"` || replies[0].Error.Code != -32600 {
		t.Fatalf("replies = %+v, want one -32600 for id \"abc\"", replies)
	}
	_, replies, _ = readAll(t, frame(`{"jsonrpc":"2.0",`), false)
	if len(replies) != 1 || string(replies[0].ID) != "null" {
		t.Fatalf("parse error must carry id null, got %+v", replies)
	}
}

func TestStreamWriteFraming(t *testing.T) {
	rwc := &pipeRWC{in: strings.NewReader("")}
	s := NewStream(rwc, nil)
	n, _ := jsonrpc2.NewNotification("a/b", map[string]string{"k": "é𝄞"})
	if _, err := s.Write(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	// Read our own output back.
	got, replies, _ := readAll(t, rwc.out.String(), true)
	if len(replies) != 0 || len(got) != 1 || got[0] != "a/b" {
		t.Fatalf("round trip read %q, replies %+v", got, replies)
	}
}

// FuzzFraming feeds arbitrary bytes to the stream. It must never panic or
// loop, every byte it writes must be a well-formed error frame, and when the
// garbage cannot declare a length (no "content-length" in it), a valid
// message after a blank line is still read.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(frame(okCall)))
	f.Add([]byte("Content-Length: 5\r\n\r\n{\"a\":1}"))
	f.Add([]byte("Content-Length: 99999999999\r\n\r\n"))
	f.Add([]byte("content-length:12\n\n{}}}}}}}}}}}}"))
	f.Add([]byte("\r\n\r\n\r\n"))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"x"}`))
	f.Fuzz(func(t *testing.T, garbage []byte) {
		if len(garbage) > 1<<16 {
			return
		}
		got, _, final := readAll(t, string(garbage), false)
		if !errors.Is(final, io.EOF) && !errors.Is(final, io.ErrUnexpectedEOF) {
			t.Fatalf("final error %v", final)
		}
		_ = got
		if indexFold(garbage, contentLength) >= 0 || lastIndexFold(garbage, contentLength) >= 0 {
			return
		}
		got, _, _ = readAll(t, string(garbage)+"\r\n\r\n"+frame(okCall), false)
		if len(got) == 0 || got[len(got)-1] != "ok" {
			t.Fatalf("valid message after garbage %q not read: %q", garbage, got)
		}
	})
}
