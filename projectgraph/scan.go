package projectgraph

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	gitignore "github.com/sabhiram/go-gitignore"
)

// Config tunes the scan. The zero value is usable: every zero field takes
// the default named beside it.
type Config struct {
	// MaxFileBytes skips larger files. Default 1 MiB: hand-written source
	// files beyond it are rare, while bundles, generated tables and data
	// dumps above it are common, and a single one would cost more parse time
	// than hundreds of ordinary files while adding nothing a prompt can use.
	MaxFileBytes int64
	// SkipDirs are directory names never entered, at any depth. Default:
	// version-control, dependency and cache directories (DefaultSkipDirs).
	// Directories whose names start with '.' are always skipped below the
	// root.
	SkipDirs []string
	// DenyGlobs are extra file patterns never read (secrets, beyond
	// the built-in list); path.Match syntax against the base name, or the
	// slash path when the pattern holds a '/'.
	DenyGlobs []string
	// Ignore are extra gitignore-syntax lines applied at the root.
	Ignore []string
	// IncludeGenerated indexes files marked as generated ("Code generated
	// ... DO NOT EDIT.", "@generated") and minified files; default false:
	// they rarely hold what a person completes against and are often huge.
	IncludeGenerated bool
	// MaxFiles bounds the source files one scan takes; the walk stops
	// there and Stats().Skipped["limit"] says so. Default 100,000: the
	// Linux kernel's ~63,000 C files fit, while a workspace opened at $HOME
	// or / is cut off before the walk and the index take minutes and
	// gigabytes.
	MaxFiles int
	// Workers parse in parallel; default GOMAXPROCS.
	Workers int
	// CacheDir overrides the cache location (default: CacheDir()).
	CacheDir string
}

// DefaultSkipDirs are the directory names Config.SkipDirs defaults to.
var DefaultSkipDirs = []string{
	"node_modules", "vendor", "bower_components", "jspm_packages",
	"__pycache__", "venv", "env", "site-packages", "target", "build", "dist", "out",
	"bazel-bin", "bazel-out", "bazel-testlogs", "CMakeFiles",
}

func (c *Config) maxFiles() int {
	if c.MaxFiles > 0 {
		return c.MaxFiles
	}
	return 100_000
}

// pseudoFS are kernel file systems a workspace at / must not walk: their
// files are not source, and some of them never end.
var pseudoFS = map[string]bool{"/proc": true, "/sys": true, "/dev": true}

// skippedDir reports whether a directory below the root (name, at the
// absolute path abs) is never entered, by the scan or the watcher: hidden,
// a skipped name, or a kernel file system. (Ignore files are the scan's
// own further rule.)
func skippedDir(skip map[string]bool, name, abs string) bool {
	return strings.HasPrefix(name, ".") || skip[name] || pseudoFS[abs]
}

func (c *Config) maxBytes() int64 {
	if c.MaxFileBytes > 0 {
		return c.MaxFileBytes
	}
	return 1 << 20
}

// errHuge: a file over the size limit (Config.MaxFileBytes).
var errHuge = errors.New("file over the size limit")

// maxConfigBytes bounds the configuration files read for import
// resolution (go.mod, Cargo.toml, tsconfig.json, ignore files).
const maxConfigBytes = 1 << 20

// readFileMax reads the regular file at path when it holds at most max
// bytes. A workspace holds what other programs put there: a FIFO would
// block os.ReadFile forever (hence the non-blocking open), a log growing
// to gigabytes would be read whole (hence the check on the open file and
// the limited read, as it may grow after the check).
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > max {
		return nil, errHuge
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errHuge
	}
	return b, nil
}

func (c *Config) skipDirs() map[string]bool {
	m := map[string]bool{}
	list := c.SkipDirs
	if list == nil {
		list = DefaultSkipDirs
	}
	for _, d := range list {
		m[d] = true
	}
	return m
}

func (c *Config) denyGlobs() []string {
	return append(append([]string(nil), defaultSecretGlobs...), c.DenyGlobs...)
}

// scanned is one candidate file found by the walk.
type scanned struct {
	Rel     string // slash path relative to the root
	Abs     string // path to read (a symlink's target for linked files)
	Size    int64
	ModTime int64 // UnixNano
	Lang    Lang
}

// scanResult is what a walk finds.
type scanResult struct {
	Files   []scanned
	Configs []string // rel paths of go.mod, tsconfig.json, jsconfig.json, Cargo.toml
	Skipped map[string]int
}

// ignoreFiles hold ignore rules for their directory's subtree.
var ignoreFiles = []string{".gitignore", ".ghostlineignore"}

var configNames = map[string]bool{"go.mod": true, "tsconfig.json": true, "jsconfig.json": true, "Cargo.toml": true}

// ignoreLayer is the ignore rules of one directory, matched against paths
// relative to it (gitignore semantics: a nested .gitignore speaks about
// its own subtree).
type ignoreLayer struct {
	dir string // rel dir ("" for the root)
	m   *gitignore.GitIgnore
}

// scanner walks one root.
type scanner struct {
	root    string // absolute, symlinks resolved
	cfg     *Config
	skip    map[string]bool
	deny    *denyList
	res     *scanResult
	visited map[string]bool // real dirs, against loops
	full    bool            // MaxFiles reached: the walk stops
}

// scan walks root (or only the subtree rel, "" for all) honouring ignore
// files, skip lists, limits and the secret deny list.
func scan(root string, cfg *Config, rel string) (*scanResult, error) {
	s := &scanner{root: root, cfg: cfg, skip: cfg.skipDirs(), deny: compileDeny(cfg.denyGlobs()),
		res: &scanResult{Skipped: map[string]int{}}, visited: map[string]bool{}}
	layers := []ignoreLayer{}
	if len(cfg.Ignore) > 0 {
		layers = append(layers, ignoreLayer{"", gitignore.CompileIgnoreLines(cfg.Ignore...)})
	}
	layers = s.loadIgnores(layers, "")
	if rel == "" {
		return s.res, s.walk("", layers)
	}
	// A subtree: the ignore files and skip rules of the directories above
	// it apply to it.
	parts := strings.Split(rel, "/")
	dir := ""
	for i, part := range parts {
		p := join(dir, part)
		last := i == len(parts)-1
		info, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return s.res, nil // vanished: nothing there to index
		}
		if info.IsDir() {
			if strings.HasPrefix(part, ".") || s.skip[part] || s.ignored(layers, p, true) {
				return s.res, nil
			}
			if last {
				return s.res, s.walk(p, layers)
			}
			layers = s.loadIgnores(layers, p)
			dir = p
			continue
		}
		if !last {
			return s.res, nil
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			s.symlink(p, layers)
		} else if info.Mode().IsRegular() {
			s.file(p, filepath.Join(root, filepath.FromSlash(p)), fs.FileInfoToDirEntry(info), layers)
		}
	}
	return s.res, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (s *scanner) loadIgnores(layers []ignoreLayer, dir string) []ignoreLayer {
	for _, name := range ignoreFiles {
		p := filepath.Join(s.root, filepath.FromSlash(dir), name)
		data, err := readFileMax(p, maxConfigBytes)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
		layers = append(layers, ignoreLayer{dir, gitignore.CompileIgnoreLines(lines...)})
	}
	return layers
}

func (s *scanner) ignored(layers []ignoreLayer, rel string, isDir bool) bool {
	for _, l := range layers {
		r := rel
		if l.dir != "" {
			if !strings.HasPrefix(rel, l.dir+"/") {
				continue
			}
			r = rel[len(l.dir)+1:]
		}
		if l.m.MatchesPath(r) || isDir && l.m.MatchesPath(r+"/") {
			return true
		}
	}
	return false
}

func (s *scanner) walk(dir string, layers []ignoreLayer) error {
	abs := filepath.Join(s.root, filepath.FromSlash(dir))
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		if s.visited[real] {
			return nil
		}
		s.visited[real] = true
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // vanished while walking: not an error
		}
		if dir == "" {
			return fmt.Errorf("projectgraph: read root: %w", err)
		}
		s.res.Skipped["unreadable"]++
		return nil
	}
	if dir != "" && (len(layers) == 0 || layers[len(layers)-1].dir != dir) {
		layers = s.loadIgnores(layers, dir)
	}
	for _, e := range entries {
		if s.full {
			return nil
		}
		name := e.Name()
		rel := join(dir, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			s.symlink(rel, layers)
			continue
		}
		if e.IsDir() {
			if skippedDir(s.skip, name, filepath.Join(abs, name)) {
				s.res.Skipped["dir"]++
				continue
			}
			if s.ignored(layers, rel, true) {
				s.res.Skipped["ignored"]++
				continue
			}
			if err := s.walk(rel, layers); err != nil {
				return err
			}
			continue
		}
		if !mode.IsRegular() {
			continue
		}
		s.file(rel, filepath.Join(abs, name), e, layers)
	}
	return nil
}

// symlink includes a linked file only when its target lies inside the
// root; linked directories are never entered (their targets inside the
// root are walked anyway, those outside must not be).
func (s *scanner) symlink(rel string, layers []ignoreLayer) {
	abs := filepath.Join(s.root, filepath.FromSlash(rel))
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		s.res.Skipped["symlink"]++
		return
	}
	if !within(s.root, target) {
		s.res.Skipped["symlink-outside"]++
		return
	}
	info, err := os.Stat(target)
	if err != nil || !info.Mode().IsRegular() {
		s.res.Skipped["symlink"]++
		return
	}
	s.file(rel, target, fs.FileInfoToDirEntry(info), layers)
}

// within reports whether p lies inside root (both absolute and clean).
func within(root, p string) bool {
	if p == root {
		return true
	}
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

func (s *scanner) file(rel, abs string, e fs.DirEntry, layers []ignoreLayer) {
	name := path.Base(rel)
	if s.deny.match(rel) {
		s.res.Skipped["secret"]++
		return
	}
	if s.ignored(layers, rel, false) {
		s.res.Skipped["ignored"]++
		return
	}
	if configNames[name] {
		s.res.Configs = append(s.res.Configs, rel)
	}
	lang := LangOf(name)
	if lang == "" {
		return
	}
	if !s.cfg.IncludeGenerated && isMinifiedName(name) {
		s.res.Skipped["generated"]++
		return
	}
	info, err := e.Info()
	if err != nil {
		return // vanished
	}
	if info.Size() > s.cfg.maxBytes() {
		s.res.Skipped["huge"]++
		return
	}
	if len(s.res.Files) >= s.cfg.maxFiles() {
		s.res.Skipped["limit"]++
		s.full = true
		return
	}
	s.res.Files = append(s.res.Files, scanned{Rel: rel, Abs: abs, Size: info.Size(), ModTime: info.ModTime().UnixNano(), Lang: lang})
}

func isMinifiedName(name string) bool {
	return strings.HasSuffix(name, ".min.js") || strings.HasSuffix(name, ".bundle.js") || strings.HasSuffix(name, ".min.mjs")
}

// skipContent says why a file's content disqualifies it, or "".
func skipContent(src []byte, includeGenerated bool) string {
	head := src[:min(len(src), 8000)]
	if bytes.IndexByte(head, 0) >= 0 || !mostlyText(head) {
		return "binary"
	}
	if includeGenerated {
		return ""
	}
	if isGenerated(src) {
		return "generated"
	}
	return ""
}

// mostlyText reports whether at most 30% of h's bytes are invalid UTF-8
// (a short file with two accented letters reaches 15%). Source in a
// legacy encoding (a Latin-1 "é" in a comment) is still source, and its
// definitions are worth indexing; binary data has NUL bytes (checked
// first: 8,000 random bytes hold one but for a chance of ~10⁻¹⁴) or is
// mostly invalid.
func mostlyText(h []byte) bool {
	bad := 0
	for i := 0; i < len(h); {
		r, n := utf8.DecodeRune(h[i:])
		if r == utf8.RuneError && n == 1 && len(h)-i >= utf8.UTFMax {
			bad++ // a rune cut at the end of the head is not counted
		}
		i += n
	}
	return bad*10 <= len(h)*3
}

// isGenerated recognises the generated-file markers of the common tools in
// the first lines, and minified code by its line length.
func isGenerated(src []byte) bool {
	head := src[:min(len(src), 2048)]
	lines := bytes.SplitN(head, []byte("\n"), 12)
	for _, l := range lines[:min(len(lines), 10)] {
		if bytes.Contains(l, []byte("Code generated")) && bytes.Contains(l, []byte("DO NOT EDIT")) ||
			bytes.Contains(l, []byte("@generated")) ||
			bytes.Contains(l, []byte("<auto-generated")) ||
			bytes.Contains(l, []byte("This file was automatically generated")) ||
			bytes.Contains(l, []byte("Generated by the protocol buffer compiler")) {
			return true
		}
	}
	// Minified: a long file whose lines average over 500 bytes.
	if len(src) > 4096 {
		n := bytes.Count(src, []byte("\n")) + 1
		if len(src)/n > 500 {
			return true
		}
	}
	return false
}
