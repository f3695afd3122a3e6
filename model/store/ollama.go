package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Ollama keeps models as content-addressed blobs named by manifests:
//
//	DIR/manifests/HOST/NAMESPACE/MODEL/TAG   (JSON, OCI-like)
//	DIR/blobs/sha256-HEX
//
// The layer whose mediaType is ollamaModelType is the GGUF weights. Ghostline
// reads these files and never writes them.
const ollamaModelType = "application/vnd.ollama.image.model"

const (
	ollamaDefaultHost = "registry.ollama.ai"
	ollamaDefaultNS   = "library"
	// maxManifest bounds one manifest file; real ones are a few kilobytes.
	maxManifest = 1 << 20
)

type ollamaManifest struct {
	Layers []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"layers"`
}

// ListOllama lists the GGUF models of an Ollama store; a missing store is
// an empty list. Models whose blob is missing or not GGUF are listed with a
// Problem, since users will look for them.
func ListOllama(dir string) ([]Model, error) {
	root := filepath.Join(dir, "manifests")
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var out []Model
	// The walk skips what it cannot read (someone else's store), so it
	// never fails.
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corner of someone else's store: skip it
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil
		}
		m := ollamaModel(dir, path, parts)
		if m.Name != "" {
			out = append(out, m)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ollamaName is how users name a model: "MODEL:TAG" in the default
// namespace, "NS/MODEL:TAG" elsewhere on the default host, else
// "HOST/NS/MODEL:TAG" (as Ollama prints them).
func ollamaName(host, ns, model, tag string) string {
	switch {
	case host == ollamaDefaultHost && ns == ollamaDefaultNS:
		return model + ":" + tag
	case host == ollamaDefaultHost:
		return ns + "/" + model + ":" + tag
	}
	return host + "/" + ns + "/" + model + ":" + tag
}

func ollamaModel(dir, manifestPath string, parts []string) Model {
	m := Model{Name: "ollama:" + ollamaName(parts[0], parts[1], parts[2], parts[3]), Source: "ollama", Store: "ollama"}
	f, err := os.Open(manifestPath)
	if err != nil {
		m.Problem = err.Error()
		return m
	}
	data, err := io.ReadAll(io.LimitReader(f, maxManifest))
	f.Close()
	if err != nil {
		m.Problem = err.Error()
		return m
	}
	return modelFromManifest(m, dir, manifestPath, data)
}

// modelFromManifest finds the model layer of a manifest and its blob.
func modelFromManifest(m Model, dir, manifestPath string, data []byte) Model {
	var man ollamaManifest
	if err := json.Unmarshal(data, &man); err != nil {
		m.Problem = fmt.Sprintf("manifest %s: %v", manifestPath, err)
		return m
	}
	for _, l := range man.Layers {
		if l.MediaType != ollamaModelType {
			continue
		}
		hexd, ok := strings.CutPrefix(l.Digest, "sha256:")
		if !ok || !isHex64(hexd) {
			m.Problem = fmt.Sprintf("manifest %s: bad digest %q", manifestPath, l.Digest)
			return m
		}
		hexd = strings.ToLower(hexd)
		m.SHA256 = hexd
		m.Path = filepath.Join(dir, "blobs", "sha256-"+hexd)
		fi, err := os.Stat(m.Path)
		if err != nil {
			m.Problem = "blob missing: " + m.Path
			return m
		}
		m.Size = fi.Size()
		if l.Size > 0 && l.Size != fi.Size() {
			m.Problem = fmt.Sprintf("blob is %d bytes, manifest says %d", fi.Size(), l.Size)
			return m
		}
		if !hasGGUFMagic(m.Path) {
			m.Problem = "model layer is not a GGUF file"
		}
		return m
	}
	m.Problem = "manifest has no model layer"
	return m
}

func hasGGUFMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[:]) == "GGUF"
}

// errOllamaBroken is wrapped by ResolveOllama's error when the model is in
// the Ollama store but cannot be used (a blob missing): said as such even
// for a reference without the "ollama:" prefix, not as an unknown model.
var errOllamaBroken = errors.New("Ollama model")

// ResolveOllama finds the GGUF blob of an Ollama model named "ollama:NAME",
// "NAME:TAG" or "NAME" (tag "latest"), in any of the forms ollamaName prints.
func ResolveOllama(dir, ref string) (string, error) {
	name := strings.TrimPrefix(ref, "ollama:")
	if name == "" {
		return "", fmt.Errorf("empty Ollama model name")
	}
	if !strings.Contains(name[strings.LastIndex(name, "/")+1:], ":") {
		name += ":latest"
	}
	models, err := ListOllama(dir)
	if err != nil {
		return "", err
	}
	for _, m := range models {
		if m.Name != "ollama:"+name {
			continue
		}
		if m.Problem != "" {
			return "", fmt.Errorf("%w %s: %s", errOllamaBroken, name, m.Problem)
		}
		return m.Path, nil
	}
	return "", fmt.Errorf("no Ollama model %q in %s", name, dir)
}
