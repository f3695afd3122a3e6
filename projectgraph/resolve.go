package projectgraph

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// PkgPrefix marks a package vertex id in import targets and the graph:
// "pkg:" + the package's directory (slash, relative to the root; "." for
// the root), or "pkg:ns:" + a C# namespace.
const PkgPrefix = "pkg:"

// resolver turns import specs into workspace files or packages. It is
// rebuilt from the file set whenever files appear or vanish, or a
// configuration file (go.mod, tsconfig.json, Cargo.toml) changes: building
// it is a few map insertions per file, cheaper than keeping each table
// incrementally correct.
type resolver struct {
	root    string // absolute
	files   map[string]*File
	pkgs    map[string][]string // package id → member files
	goMods  []goModule
	pyRoots []string
	tsconf  map[string]*tsConfig // dir → config
	crates  map[string]string    // Rust crate name → src dir
	javaCls map[string]string    // fully qualified class → file
	javaPkg map[string]string    // Java package → package id
	base    map[string][]string  // base name → files (C/C++ includes)
	csNS    map[string]bool      // C# namespaces
}

type goModule struct {
	Path string // module path ("std" for GOROOT/src)
	Dir  string // absolute directory of go.mod
}

type tsConfig struct {
	dir     string // rel dir of the tsconfig
	baseURL string // rel dir
	paths   map[string][]string
}

func newResolver(root string, files map[string]*File, pkgs map[string][]string, configs []string) *resolver {
	r := &resolver{root: root, files: files, pkgs: pkgs, tsconf: map[string]*tsConfig{},
		crates: map[string]string{}, javaCls: map[string]string{}, javaPkg: map[string]string{},
		base: map[string][]string{}, csNS: map[string]bool{}}
	hasGoMod := false
	for _, c := range configs {
		abs := filepath.Join(root, filepath.FromSlash(c))
		switch path.Base(c) {
		case "go.mod":
			if m := readModulePath(abs); m != "" {
				r.goMods = append(r.goMods, goModule{m, filepath.Dir(abs)})
				if path.Dir(c) == "." {
					hasGoMod = true
				}
			}
		case "tsconfig.json", "jsconfig.json":
			if tc := readTSConfig(abs, path.Dir(c)); tc != nil {
				if _, dup := r.tsconf[tc.dir]; !dup || path.Base(c) == "tsconfig.json" {
					r.tsconf[tc.dir] = tc
				}
			}
		case "Cargo.toml":
			if name := readCrateName(abs); name != "" {
				r.crates[strings.ReplaceAll(name, "-", "_")] = path.Join(path.Dir(c), "src")
			}
		}
	}
	// The module may start above the root (indexing a subdirectory of a
	// module, or of GOROOT/src, whose go.mod says "module std").
	if !hasGoMod {
		for d := filepath.Dir(root); ; d = filepath.Dir(d) {
			if m := readModulePath(filepath.Join(d, "go.mod")); m != "" {
				r.goMods = append(r.goMods, goModule{m, d})
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	// Longest module path first, so "cmd" wins over "std" for cmd/...
	sort.Slice(r.goMods, func(i, j int) bool { return len(r.goMods[i].Dir) > len(r.goMods[j].Dir) })

	pyRoots := map[string]bool{".": true}
	for p, f := range files {
		dir := path.Dir(p)
		base := path.Base(p)
		switch f.Lang {
		case Python:
			if base == "__init__.py" {
				parent := path.Dir(dir)
				if _, ok := files[path.Join(parent, "__init__.py")]; !ok {
					pyRoots[parent] = true
				}
			}
		case Java:
			cls := strings.TrimSuffix(base, ".java")
			if f.Package != "" {
				cls = f.Package + "." + cls
				r.javaPkg[f.Package] = dir
			}
			r.javaCls[cls] = p
		case C, CPP:
			r.base[base] = append(r.base[base], p)
		case CSharp:
			if f.Package != "" {
				r.csNS[f.Package] = true
			}
		}
	}
	for d := range pyRoots {
		r.pyRoots = append(r.pyRoots, d)
	}
	sort.Strings(r.pyRoots)
	return r
}

// readModulePath returns the module path of a go.mod, "" when unreadable.
func readModulePath(p string) string {
	data, err := readFileMax(p, maxConfigBytes)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(l, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// readCrateName reads `name = "x"` from a Cargo.toml's [package] table.
func readCrateName(p string) string {
	data, err := readFileMax(p, maxConfigBytes)
	if err != nil {
		return ""
	}
	inPkg := false
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			inPkg = l == "[package]" || l == "[lib]"
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && inPkg && strings.TrimSpace(k) == "name" {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// readTSConfig reads compilerOptions.baseUrl and paths from a tsconfig
// (JSON with comments and trailing commas).
func readTSConfig(p, dir string) *tsConfig {
	data, err := readFileMax(p, maxConfigBytes)
	if err != nil {
		return nil
	}
	var doc struct {
		CompilerOptions struct {
			BaseURL string              `json:"baseUrl"`
			Paths   map[string][]string `json:"paths"`
		} `json:"compilerOptions"`
	}
	if err := json.Unmarshal(stripJSONC(data), &doc); err != nil {
		return nil
	}
	tc := &tsConfig{dir: dir, paths: doc.CompilerOptions.Paths, baseURL: dir}
	if b := doc.CompilerOptions.BaseURL; b != "" {
		tc.baseURL = path.Clean(path.Join(dir, b))
	}
	return tc
}

// stripJSONC removes // and /* */ comments and trailing commas outside
// strings, turning tsconfig's JSONC into JSON.
func stripJSONC(b []byte) []byte {
	var out []byte
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i+1 < len(b) && b[i+1] != '\n' {
				i++
			}
			continue // the newline itself is kept
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := bytes.Index(b[i+2:], []byte("*/"))
			if j < 0 {
				return out
			}
			i += j + 3
			continue
		case c == ']' || c == '}':
			// Drop a trailing comma before the closer.
			k := len(out) - 1
			for k >= 0 && (out[k] == ' ' || out[k] == '\n' || out[k] == '\t' || out[k] == '\r') {
				k--
			}
			if k >= 0 && out[k] == ',' {
				out = append(out[:k], out[k+1:]...)
			}
		}
		out = append(out, c)
	}
	return out
}

// resolve returns the targets of one import of file f.
func (r *resolver) resolve(f *File, imp Import) []string {
	var t []string
	switch f.Lang {
	case Go:
		t = r.goImport(imp.Spec)
	case Python:
		t = r.pyImport(f, imp)
	case JavaScript, TypeScript, TSX:
		t = r.jsImport(f, imp.Spec)
	case Java:
		t = r.javaImport(imp.Spec)
	case Rust:
		t = r.rustImport(f, imp.Spec)
	case C, CPP:
		t = r.cInclude(f, imp.Spec)
	case CSharp:
		t = r.csUsing(imp.Spec)
	}
	out := t[:0]
	for _, x := range t {
		if x != f.Path && x != PkgPrefix+f.Pkg {
			out = append(out, x)
		}
	}
	return out
}

func (r *resolver) pkgTarget(dir string) []string {
	if _, ok := r.pkgs[dir]; ok {
		return []string{PkgPrefix + dir}
	}
	return nil
}

func (r *resolver) relDir(abs string) (string, bool) {
	rel, err := filepath.Rel(r.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// goImport resolves a Go import path as `go list` does inside the
// workspace's modules: the module whose path prefixes the import names
// its directory; under GOROOT/src ("module std") an import path without a
// dot in its first element is the directory path.
func (r *resolver) goImport(ip string) []string {
	for _, m := range r.goMods {
		var dir string
		switch {
		case m.Path == "std":
			first, _, _ := strings.Cut(ip, "/")
			if strings.Contains(first, ".") {
				continue
			}
			dir = filepath.Join(m.Dir, filepath.FromSlash(ip))
		case ip == m.Path:
			dir = m.Dir
		case strings.HasPrefix(ip, m.Path+"/"):
			dir = filepath.Join(m.Dir, filepath.FromSlash(ip[len(m.Path)+1:]))
		default:
			continue
		}
		if rel, ok := r.relDir(dir); ok {
			if t := r.pkgTarget(rel); t != nil {
				return t
			}
		}
	}
	return nil
}

func (r *resolver) exists(p string) bool {
	_, ok := r.files[p]
	return ok
}

// pyImport resolves absolute imports against the source roots (the root,
// the parents of top-level packages, the importing file's directory) and
// relative ones against the file's package.
func (r *resolver) pyImport(f *File, imp Import) []string {
	spec := imp.Spec
	level := len(spec) - len(strings.TrimLeft(spec, "."))
	mod := strings.ReplaceAll(spec[level:], ".", "/")
	var bases []string
	if level > 0 {
		b := path.Dir(f.Path)
		for i := 1; i < level; i++ {
			b = path.Dir(b)
		}
		bases = []string{b}
	} else {
		bases = append([]string{path.Dir(f.Path)}, r.pyRoots...)
	}
	for _, b := range bases {
		mp := path.Join(b, mod)
		var out []string
		for _, n := range imp.Names {
			if n == "*" {
				continue
			}
			out = append(out, r.pyModule(path.Join(mp, n), false)...)
		}
		if len(out) > 0 && len(out) == len(imp.Names) {
			return out
		}
		if m := r.pyModule(mp, true); m != nil {
			return append(out, m...)
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// pyModule finds the file of module path p (slash form): p.py, p.pyi,
// p/__init__.py; with nsPkg, a directory of Python files without
// __init__.py (a namespace package) resolves to the package.
func (r *resolver) pyModule(p string, nsPkg bool) []string {
	for _, c := range []string{p + ".py", p + ".pyi", p + "/__init__.py", p + "/__init__.pyi"} {
		if r.exists(c) {
			return []string{c}
		}
	}
	if nsPkg {
		return r.pkgTarget(p)
	}
	return nil
}

var jsExts = []string{".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"}

// jsImport resolves relative specifiers, tsconfig paths and baseUrl.
func (r *resolver) jsImport(f *File, spec string) []string {
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") || spec == "." || spec == ".." {
		return r.jsFile(path.Join(path.Dir(f.Path), spec))
	}
	if strings.HasPrefix(spec, "/") {
		return r.jsFile(strings.TrimPrefix(path.Clean(spec), "/"))
	}
	// The nearest tsconfig/jsconfig above the file.
	for d := path.Dir(f.Path); ; d = path.Dir(d) {
		if tc := r.tsconf[d]; tc != nil {
			for pat, targets := range tc.paths {
				star := ""
				if pre, suf, ok := strings.Cut(pat, "*"); ok {
					if !strings.HasPrefix(spec, pre) || !strings.HasSuffix(spec, suf) || len(spec) < len(pre)+len(suf) {
						continue
					}
					star = spec[len(pre) : len(spec)-len(suf)]
				} else if pat != spec {
					continue
				}
				for _, t := range targets {
					if got := r.jsFile(path.Join(tc.baseURL, strings.Replace(t, "*", star, 1))); got != nil {
						return got
					}
				}
			}
			if got := r.jsFile(path.Join(tc.baseURL, spec)); got != nil {
				return got
			}
			break
		}
		if d == "." || d == "/" {
			break
		}
	}
	return nil
}

func (r *resolver) jsFile(p string) []string {
	p = path.Clean(p)
	if r.exists(p) {
		return []string{p}
	}
	// TypeScript's ESM style names the emitted .js file.
	ext := path.Ext(p)
	stem := p
	if ext == ".js" || ext == ".jsx" || ext == ".mjs" || ext == ".cjs" {
		stem = strings.TrimSuffix(p, ext)
	}
	for _, e := range jsExts {
		if r.exists(stem + e) {
			return []string{stem + e}
		}
	}
	for _, e := range jsExts {
		if c := p + "/index" + e; r.exists(c) {
			return []string{c}
		}
	}
	return nil
}

// javaImport resolves a class (or a static member: the longest prefix that
// is a class) or a package wildcard.
func (r *resolver) javaImport(spec string) []string {
	if pkg, ok := strings.CutSuffix(spec, ".*"); ok {
		if d, ok := r.javaPkg[pkg]; ok {
			return r.pkgTarget(d)
		}
		if p, ok := r.javaCls[pkg]; ok { // import static a.B.*
			return []string{p}
		}
		return nil
	}
	for s := spec; s != ""; {
		if p, ok := r.javaCls[s]; ok {
			return []string{p}
		}
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return nil
}

// rustCrate returns the src directory of the crate holding file p and the
// module path of p inside it.
func (r *resolver) rustCrate(p string) (src string, mod []string) {
	for d := path.Dir(p); ; d = path.Dir(d) {
		if path.Base(d) == "src" || r.exists(path.Join(d, "lib.rs")) || r.exists(path.Join(d, "main.rs")) {
			src = d
			break
		}
		if d == "." {
			src = path.Dir(p)
			break
		}
	}
	rel := strings.TrimPrefix(strings.TrimSuffix(p, ".rs"), src+"/")
	if src == "." {
		rel = strings.TrimSuffix(p, ".rs")
	}
	parts := strings.Split(rel, "/")
	if last := parts[len(parts)-1]; last == "mod" || (len(parts) == 1 && (last == "lib" || last == "main")) {
		parts = parts[:len(parts)-1]
	}
	return src, parts
}

func (r *resolver) rustModFile(src string, mod []string) string {
	if len(mod) == 0 {
		for _, c := range []string{"lib.rs", "main.rs", "mod.rs"} {
			if p := path.Join(src, c); r.exists(p) {
				return p
			}
		}
		return ""
	}
	base := path.Join(append([]string{src}, mod...)...)
	for _, c := range []string{base + ".rs", base + "/mod.rs"} {
		if r.exists(c) {
			return c
		}
	}
	return ""
}

// rustImport resolves `mod x;`, `use crate::/super::/self::` paths, paths
// through sibling workspace crates, and `extern crate`.
func (r *resolver) rustImport(f *File, spec string) []string {
	src, mod := r.rustCrate(f.Path)
	if name, ok := strings.CutPrefix(spec, "mod:"); ok {
		var dir string
		b := path.Base(f.Path)
		if b == "mod.rs" || b == "lib.rs" || b == "main.rs" {
			dir = path.Dir(f.Path)
		} else {
			dir = strings.TrimSuffix(f.Path, ".rs")
		}
		for _, c := range []string{path.Join(dir, name+".rs"), path.Join(dir, name, "mod.rs")} {
			if r.exists(c) {
				return []string{c}
			}
		}
		return nil
	}
	segs := strings.Split(spec, "::")
	var bases [][]string
	switch segs[0] {
	case "crate":
		bases, segs = [][]string{{}}, segs[1:]
	case "self":
		bases, segs = [][]string{mod}, segs[1:]
	case "super":
		base := append([]string(nil), mod...)
		for len(segs) > 0 && segs[0] == "super" {
			if len(base) > 0 {
				base = base[:len(base)-1]
			}
			segs = segs[1:]
		}
		bases = [][]string{base}
	default:
		if csrc, ok := r.crates[segs[0]]; ok {
			src, bases, segs = csrc, [][]string{{}}, segs[1:]
			if len(segs) == 0 {
				if p := r.rustModFile(src, nil); p != "" {
					return []string{p}
				}
				return nil
			}
		} else {
			// A path starting at a child module of the current one, or
			// (2015 style) at the crate root.
			bases = [][]string{mod, {}}
		}
	}
	for _, base := range bases {
		for k := len(segs); k >= 1; k-- {
			m := append(append([]string(nil), base...), segs[:k]...)
			if p := r.rustModFile(src, m); p != "" {
				return []string{p}
			}
		}
	}
	// `use crate::Item` names something in the crate root; `use
	// super::Item` something in the parent module.
	if segs0 := strings.Split(spec, "::")[0]; segs0 == "crate" || segs0 == "super" {
		if p := r.rustModFile(src, bases[0]); p != "" {
			return []string{p}
		}
	}
	return nil
}

// cInclude resolves an include against the including file's directory,
// then against every workspace file whose path ends with the include path
// (the include directories a build would pass with -I), preferring the
// one nearest the includer.
func (r *resolver) cInclude(f *File, spec string) []string {
	spec = path.Clean(spec)
	if c := path.Join(path.Dir(f.Path), spec); r.exists(c) {
		return []string{c}
	}
	best, bestScore := "", math.MinInt
	for _, p := range r.base[path.Base(spec)] {
		if p != spec && !strings.HasSuffix(p, "/"+spec) {
			continue
		}
		score := commonPrefixDirs(path.Dir(f.Path), path.Dir(p))*1000 - len(p)
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if best != "" {
		return []string{best}
	}
	return nil
}

func commonPrefixDirs(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	return n
}

// csUsing resolves a using directive to the namespace's package (all the
// files declaring it); `using static A.B.C` falls back to namespace A.B.
func (r *resolver) csUsing(spec string) []string {
	for s := spec; s != ""; {
		if r.csNS[s] {
			return r.pkgTarget("ns:" + s)
		}
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return nil
}
