package projectgraph

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// SchemaVersion is bumped whenever File, Symbol, Import or what the
// extractor produces changes meaning; a cache with another version is
// ignored and rebuilt.
const SchemaVersion = 6 // 6: long signatures masked before they are cut

// CacheDir returns the directory holding indexes:
// $XDG_CACHE_HOME/ghostline/index, else ~/.cache/ghostline/index.
func CacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("projectgraph: no cache directory: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "ghostline", "index"), nil
}

// cachePath is <cache dir>/<hash of root>/index.gob.
func (ix *Index) cachePath() string {
	dir := ix.cfg.CacheDir
	if dir == "" {
		d, err := CacheDir()
		if err != nil {
			return ""
		}
		dir = d
	}
	h := sha256.Sum256([]byte(ix.root))
	return filepath.Join(dir, hex.EncodeToString(h[:8]), "index.gob")
}

type cacheFile struct {
	Schema int
	Root   string
	Files  []*File
	// Idents holds each file's identifiers joined by newlines, in the
	// order of Files (whose Idents are left empty): gob decodes one
	// string per file instead of one per identifier, and the split
	// strings share its memory. Two million small strings were a fifth
	// of a reload of the Go standard library.
	Idents []string
}

// Save writes the index to its cache file (atomically: a temporary file
// renamed into place, so a crash never leaves a torn cache).
func (ix *Index) Save() error {
	p := ix.cachePath()
	if p == "" {
		return nil
	}
	ix.mu.RLock()
	cf := cacheFile{Schema: SchemaVersion, Root: ix.root, Files: make([]*File, 0, len(ix.files)), Idents: make([]string, 0, len(ix.files))}
	for _, f := range ix.files {
		g := *f
		g.Idents = nil
		cf.Files = append(cf.Files, &g)
		cf.Idents = append(cf.Idents, strings.Join(f.Idents, "\n"))
	}
	ix.mu.RUnlock()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("projectgraph: cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "index-*.tmp")
	if err != nil {
		return fmt.Errorf("projectgraph: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Plain gob, no compression: the cache is read on every start and
	// decompressing cost a quarter of the reload time, while the file
	// (~4× larger, ~30 MB for GOROOT/src) is cheap disk.
	bw := bufio.NewWriterSize(tmp, 1<<16)
	ix.mu.RLock()
	err = gob.NewEncoder(bw).Encode(&cf)
	ix.mu.RUnlock()
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("projectgraph: write cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("projectgraph: cache: %w", err)
	}
	return nil
}

var errStaleCache = errors.New("projectgraph: cache has another schema version")

// loadCache reads a cache file into a map by path. Any failure (missing,
// corrupt, other schema) is an error the caller treats as "no cache".
func loadCache(p string) (map[string]*File, error) {
	if p == "" {
		return nil, errors.New("projectgraph: no cache path")
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var cf cacheFile
	if err := gob.NewDecoder(bufio.NewReaderSize(fh, 1<<16)).Decode(&cf); err != nil {
		return nil, fmt.Errorf("projectgraph: cache %s: %w", p, err)
	}
	if cf.Schema != SchemaVersion {
		return nil, errStaleCache
	}
	if len(cf.Idents) != len(cf.Files) {
		return nil, fmt.Errorf("projectgraph: cache %s: %d identifier lists for %d files", p, len(cf.Idents), len(cf.Files))
	}
	m := make(map[string]*File, len(cf.Files))
	for i, f := range cf.Files {
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("projectgraph: cache %s: %w", p, err)
		}
		if f != nil && f.Path != "" {
			if cf.Idents[i] != "" {
				f.Idents = strings.Split(cf.Idents[i], "\n")
			}
			m[f.Path] = f
		}
	}
	return m, nil
}

// check rejects what no extraction produces, so that a damaged cache that
// still decodes is rebuilt instead of trusted: a path leaving the root, or
// a definition whose range the context packer would slice out of bounds.
func (f *File) check() error {
	if f == nil {
		return nil
	}
	if f.Path != "" && (path.IsAbs(f.Path) || !filepath.IsLocal(filepath.FromSlash(f.Path))) {
		return fmt.Errorf("file path %q is not inside the workspace", f.Path)
	}
	for _, s := range f.Symbols {
		if s.Start < 0 || s.End < s.Start || s.Line < 1 || s.EndLine < s.Line {
			return fmt.Errorf("%s: symbol %q has range %d..%d, lines %d..%d", f.Path, s.Name, s.Start, s.End, s.Line, s.EndLine)
		}
	}
	return nil
}

// CachePath returns where the index is persisted ("" when no cache
// directory is known).
func (ix *Index) CachePath() string { return ix.cachePath() }
