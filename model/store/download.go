package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Progress receives a pull's progress. Calls come from the pulling
// goroutine, in order; a nil Progress is allowed everywhere.
type Progress interface {
	// Stage starts a stage ("download", "assemble") of total bytes, or -1
	// when the total is not known yet.
	Stage(name string, total int64)
	// Add reports n more bytes of the current stage done.
	Add(n int64)
}

type nopProgress struct{}

func (nopProgress) Stage(string, int64) {}
func (nopProgress) Add(int64)           {}

// ChecksumError reports a file whose SHA-256 is not the expected one.
type ChecksumError struct {
	What      string
	Got, Want string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 %s, want %s", e.What, e.Got, e.Want)
}

// permanentError marks a download failure that retrying cannot fix.
// DiskError is a failed write to a local file (a full disk, most often):
// told apart from a failing download or a damaged archive, it is neither
// retried nor blamed on the data.
type DiskError struct{ Err error }

func (e *DiskError) Error() string { return "writing to the local disk: " + e.Err.Error() }
func (e *DiskError) Unwrap() error { return e.Err }

// diskWriter marks the errors of w's writes as *DiskError.
type diskWriter struct{ w io.Writer }

func (d diskWriter) Write(b []byte) (int, error) {
	n, err := d.w.Write(b)
	if err != nil {
		err = &DiskError{err}
	}
	return n, err
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func (s *Store) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return http.DefaultClient
}

// download is one file to fetch.
type download struct {
	url    string
	dst    string // final path; the partial file is dst+".part"
	size   int64  // expected bytes, -1 when unknown
	sha256 string // expected hex digest, "" when unknown
	what   string // for messages
	// stageTotal, when set, starts the progress stage once the total is
	// known from the response (single-file pulls of unknown size).
	stageTotal bool
}

// source records, beside a partial or downloaded file (dst+".src"), which
// URL and which version of it (the response's validators) the bytes came
// from. Without a pinned digest this is all that keeps a resume from
// appending one file's bytes to another's: a pull of the same name from a
// second URL, or of a file that changed on the server (hf:// on main).
type source struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func readSource(path string) (source, bool) {
	var src source
	b, err := os.ReadFile(path)
	return src, err == nil && json.Unmarshal(b, &src) == nil
}

// ifRange is the validator to resume with: a strong ETag, else the date
// ("" when the server gave neither, and a resume cannot be checked).
func (src source) ifRange() string {
	if src.ETag != "" && !strings.HasPrefix(src.ETag, "W/") {
		return src.ETag
	}
	return src.LastModified
}

// sameSource says whether the bytes at d.dst or its partial file can be
// kept for d: always with a pinned digest (verification decides), else
// only when they came from d.url.
func (d download) sameSource() bool {
	if d.sha256 != "" {
		return true
	}
	src, ok := readSource(d.dst + ".src")
	return ok && src.URL == d.url
}

// fetch downloads d.url to d.dst, resuming a partial file left by an earlier
// attempt with an HTTP Range request, retrying a cut connection up to
// s.Retries times, and verifying size and digest before renaming the file
// into place. A complete dst that verifies (and, without a digest, came
// from the same URL) is not downloaded again. The partial file is kept on
// failure (for the next resume) unless its content is known to be wrong.
func (s *Store) fetch(ctx context.Context, d download, p Progress) error {
	if fi, err := os.Stat(d.dst); err == nil {
		if (d.size < 0 || fi.Size() == d.size) && d.sameSource() {
			if err := verifyDigest(d.dst, d.sha256, d.what); err == nil {
				if d.stageTotal {
					p.Stage("download", fi.Size())
				}
				p.Add(fi.Size())
				return nil
			}
		}
		os.Remove(d.dst) // a wrong complete file: fetch it again
	}
	part := d.dst + ".part"
	reported := int64(0) // bytes of this file already reported to p
	var perm permanentError
	err := s.retry(ctx, func() error { return s.fetchOnce(ctx, d, part, p, &reported) },
		func(err error) bool { return errors.As(err, &perm) })
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w (partial download kept; run the pull again to resume)", d.what, ctx.Err())
	case errors.As(err, &perm):
		return err
	case err != nil:
		return fmt.Errorf("%s: %w (partial download kept; run the pull again to resume)", d.what, err)
	}
	fi, err := os.Stat(part)
	if err != nil {
		return fmt.Errorf("%s: %w", d.what, err)
	}
	if d.size >= 0 && fi.Size() != d.size {
		os.Remove(part)
		return fmt.Errorf("%s: downloaded %d bytes, want %d (partial download removed; run the pull again)", d.what, fi.Size(), d.size)
	}
	if err := verifyDigest(part, d.sha256, d.what); err != nil {
		os.Remove(part)
		return fmt.Errorf("%w (download removed; run the pull again to retry)", err)
	}
	if err := syncFile(part); err != nil {
		return fmt.Errorf("%s: %w", d.what, err)
	}
	if err := os.Rename(part, d.dst); err != nil {
		return fmt.Errorf("%s: %w", d.what, err)
	}
	return nil
}

// retry calls fn until it succeeds, up to 1+s.Retries times, waiting
// s.RetryDelay and then twice as long each time; it gives up at once on an
// error permanent reports true for, or when ctx ends. It returns fn's last
// error.
func (s *Store) retry(ctx context.Context, fn func() error, permanent func(error) bool) error {
	delay := s.RetryDelay
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || permanent(err) || ctx.Err() != nil || attempt >= s.Retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// fetchOnce makes one request, appending to the partial file from where it
// stops. reported tracks the bytes of this file already given to p, so that
// a restart from zero does not count them twice.
func (s *Store) fetchOnce(ctx context.Context, d download, part string, p Progress, reported *int64) error {
	var off int64
	if fi, err := os.Stat(part); err == nil {
		off = fi.Size()
	}
	if d.size >= 0 && off > d.size {
		off = 0 // longer than the file can be: start again
	}
	if d.size >= 0 && off == d.size {
		return nil // complete; fetch verifies it
	}
	srcPath := d.dst + ".src"
	src, _ := readSource(srcPath)
	if off > 0 && d.sha256 == "" && (!d.sameSource() || src.ifRange() == "") {
		off = 0 // bytes of another URL, or of a version we cannot check
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return permanentError{fmt.Errorf("%s: %w", d.what, err)}
	}
	req.Header.Set("User-Agent", userAgent)
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		if v := src.ifRange(); v != "" && src.URL == d.url {
			// The server sends the whole file (200) if it changed since.
			req.Header.Set("If-Range", v)
		}
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			// A server that answers another range than asked: start over.
			os.Remove(part)
			return fmt.Errorf("%s: server answered range %q for bytes=%d-", d.what, resp.Header.Get("Content-Range"), off)
		}
	case resp.StatusCode == http.StatusOK:
		off = 0 // the server ignored Range (or there was none): full body
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		// The partial file is already as long as the resource (size
		// unknown to us): let verification decide.
		if d.stageTotal {
			p.Stage("download", off)
			p.Add(off)
		}
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusGone:
		return permanentError{fmt.Errorf("%s: GET %s: %s", d.what, d.url, resp.Status)}
	default:
		return fmt.Errorf("%s: GET %s: %s", d.what, d.url, resp.Status)
	}
	if d.stageTotal {
		total := int64(-1)
		if resp.ContentLength >= 0 {
			total = off + resp.ContentLength
		}
		if d.size >= 0 {
			total = d.size
		}
		p.Stage("download", total)
		*reported = 0
	}
	got := source{URL: d.url, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if b, err := json.Marshal(got); err != nil || os.WriteFile(srcPath, b, 0o644) != nil {
		return permanentError{fmt.Errorf("%s: cannot record the download's source beside %s", d.what, part)}
	}
	// Align the progress with the bytes on disk: count a resumed prefix
	// once, and take back what a restart from zero discards.
	if off != *reported {
		p.Add(off - *reported)
		*reported = off
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return permanentError{fmt.Errorf("%s: %w", d.what, &DiskError{err})}
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return permanentError{fmt.Errorf("%s: %w", d.what, &DiskError{err})}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return permanentError{fmt.Errorf("%s: %w", d.what, &DiskError{err})}
	}
	limit := int64(-1)
	if d.size >= 0 {
		limit = d.size - off // never write past the expected size
	}
	body := io.Reader(resp.Body)
	if limit >= 0 {
		body = io.LimitReader(resp.Body, limit)
	}
	n, err := io.Copy(diskWriter{f}, &countingReader{r: body, p: p, reported: reported})
	if errors.As(err, new(*DiskError)) {
		return permanentError{fmt.Errorf("%s: %w", d.what, err)} // a full disk: retrying will not help
	}
	if err != nil {
		return fmt.Errorf("%s: connection lost after %d bytes: %w", d.what, off+n, err)
	}
	if resp.ContentLength >= 0 && n < resp.ContentLength && (limit < 0 || n < limit) {
		return fmt.Errorf("%s: short body: %d of %d bytes", d.what, n, resp.ContentLength)
	}
	if d.size >= 0 && off+n < d.size {
		return fmt.Errorf("%s: short body: have %d of %d bytes", d.what, off+n, d.size)
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	i := strings.IndexByte(rest, '-')
	if i <= 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(rest[:i], 10, 64)
	return v, err == nil && v >= 0
}

type countingReader struct {
	r        io.Reader
	p        Progress
	reported *int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.Add(int64(n))
		*c.reported += int64(n)
	}
	return n, err
}

func verifyDigest(path, want, what string) error {
	if want == "" {
		return nil
	}
	got, err := hashFile(path)
	if err != nil {
		return err
	}
	if got != want {
		return &ChecksumError{What: what, Got: got, Want: want}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
