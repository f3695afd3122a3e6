package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/store"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

func init() {
	register(&command{
		name:    "model info",
		summary: "describe a model: architecture, shape, tokenizer, special tokens, tensor types",
		usage:   "[PATH|NAME] [--json]",
		setup: func(fs *flag.FlagSet) func([]string) error {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				if len(args) > 1 {
					return usageError{"takes at most one model (a path or an installed name)"}
				}
				ref := ""
				if len(args) == 1 {
					ref = args[0]
				}
				info, err := describeModel(ref)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(os.Stdout).Encode(info)
				}
				info.print(os.Stdout)
				return nil
			}
		},
	})
}

// modelInfo is what `model info` reports; the JSON field names are a
// public contract (issue 6 requires "name" and "arch").
type modelInfo struct {
	Name        string          `json:"name"`
	Path        string          `json:"path"`
	FileBytes   int64           `json:"file_bytes"`
	Arch        string          `json:"arch"`
	GeneralName string          `json:"general_name,omitempty"`
	Shape       *modelShape     `json:"shape,omitempty"`
	ShapeError  string          `json:"shape_error,omitempty"`
	Tokenizer   *tokenizerInfo  `json:"tokenizer,omitempty"`
	TokError    string          `json:"tokenizer_error,omitempty"`
	Special     map[string]tok  `json:"special,omitempty"`
	Tensors     int             `json:"tensors"`
	TensorTypes []tensorTypeSum `json:"tensor_types"`
}

type modelShape struct {
	Layers     int     `json:"layers"`
	Dim        int     `json:"dim"`
	Heads      int     `json:"heads"`
	KVHeads    int     `json:"kv_heads"`
	HeadDim    int     `json:"head_dim"`
	FFN        int     `json:"ffn"`
	Vocab      int     `json:"vocab"`
	ContextLen int     `json:"context_length"`
	RopeBase   float64 `json:"rope_freq_base"`
}

type tokenizerInfo struct {
	Model  string `json:"model"`
	Pre    string `json:"pre,omitempty"`
	Tokens int    `json:"tokens"`
	AddBOS bool   `json:"add_bos"`
	AddEOS bool   `json:"add_eos"`
}

type tok struct {
	ID   int32  `json:"id"`
	Text string `json:"text"`
}

type tensorTypeSum struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Bytes uint64 `json:"bytes"`
}

// describeModel opens the model named by ref ("" for the default model) and
// reads what it says about itself. Only an unreadable file is an error: an
// architecture or tokenizer Ghostline cannot run is reported in the output,
// since that is exactly what a user runs `model info` to find out.
func describeModel(ref string) (*modelInfo, error) {
	path, err := resolveModelPath(ref)
	if err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	info := &modelInfo{Path: path, FileBytes: f.Size(), Arch: f.Arch(), Tensors: len(f.Tensors)}
	info.GeneralName, _ = f.String("general.name")
	switch {
	case ref == "":
		info.Name = store.DefaultModel
	case !fileExists(ref):
		info.Name = ref // a store or Ollama name
	case info.GeneralName != "":
		info.Name = info.GeneralName
	default:
		info.Name = strings.TrimSuffix(filepath.Base(path), ".gguf")
	}

	if cfg, err := model.ReadConfig(f); err != nil {
		info.ShapeError = err.Error()
	} else {
		info.Shape = &modelShape{cfg.Layers, cfg.Dim, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.FFN, cfg.Vocab, cfg.ContextLen, cfg.Rope.Base}
		if emb, ok := f.Tensor("token_embd.weight"); ok && info.Shape.Vocab == 0 && len(emb.Dims) == 2 {
			info.Shape.Vocab = int(emb.Dims[1]) // the config leaves vocab to the loader
		}
	}

	if tk, err := tokenizer.FromGGUF(f); err != nil {
		info.TokError = err.Error()
	} else {
		info.Tokenizer = &tokenizerInfo{tk.Model(), tk.Pre(), tk.NumTokens(), tk.AddBOS(), tk.AddEOS()}
		info.Special = map[string]tok{}
		sp := tk.Special()
		for _, s := range []struct {
			name string
			id   int32
		}{{"bos", sp.BOS}, {"eos", sp.EOS}, {"eot", sp.EOT}, {"pad", sp.PAD}, {"unk", sp.UNK},
			{"fim_pre", sp.FIMPre}, {"fim_suf", sp.FIMSuf}, {"fim_mid", sp.FIMMid}, {"fim_pad", sp.FIMPad},
			{"fim_rep", sp.FIMRep}, {"fim_sep", sp.FIMSep}, {"repo_name", sp.RepoName}, {"file_sep", sp.FileSep}} {
			if s.id >= 0 {
				info.Special[s.name] = tok{s.id, tk.Token(s.id)}
			}
		}
	}

	sums := map[gguf.TensorType]*tensorTypeSum{}
	for _, t := range f.Tensors {
		s := sums[t.Type]
		if s == nil {
			s = &tensorTypeSum{Type: t.Type.String()}
			sums[t.Type] = s
		}
		s.Count++
		s.Bytes += t.Size
	}
	for _, s := range sums {
		info.TensorTypes = append(info.TensorTypes, *s)
	}
	sort.Slice(info.TensorTypes, func(i, j int) bool { return info.TensorTypes[i].Bytes > info.TensorTypes[j].Bytes })
	return info, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (m *modelInfo) print(w io.Writer) {
	fmt.Fprintf(w, "name          %s\n", m.Name)
	fmt.Fprintf(w, "path          %s (%s)\n", m.Path, humanBytes(m.FileBytes))
	arch := m.Arch
	if m.GeneralName != "" {
		arch += fmt.Sprintf(" (%q)", m.GeneralName)
	}
	fmt.Fprintf(w, "architecture  %s\n", arch)
	if s := m.Shape; s != nil {
		fmt.Fprintf(w, "shape         %d layers, width %d, %d heads (%d kv, head dim %d), ffn %d, vocab %d\n",
			s.Layers, s.Dim, s.Heads, s.KVHeads, s.HeadDim, s.FFN, s.Vocab)
		fmt.Fprintf(w, "context       %d tokens (rope base %g)\n", s.ContextLen, s.RopeBase)
	} else {
		fmt.Fprintf(w, "shape         cannot run: %s\n", m.ShapeError)
	}
	if t := m.Tokenizer; t != nil {
		fmt.Fprintf(w, "tokenizer     %s", t.Model)
		if t.Pre != "" {
			fmt.Fprintf(w, " (pre %s)", t.Pre)
		}
		fmt.Fprintf(w, ", %d tokens, add_bos %v, add_eos %v\n", t.Tokens, t.AddBOS, t.AddEOS)
		keys := make([]string, 0, len(m.Special))
		for k := range m.Special {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m.Special[keys[i]].ID < m.Special[keys[j]].ID })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d %q", k, m.Special[k].ID, m.Special[k].Text))
		}
		fmt.Fprintf(w, "special       %s\n", strings.Join(parts, ", "))
		if _, ok := m.Special["fim_pre"]; !ok {
			fmt.Fprintln(w, "fim           none: completions use a prefix-only prompt")
		}
	} else {
		fmt.Fprintf(w, "tokenizer     cannot load: %s\n", m.TokError)
	}
	fmt.Fprintf(w, "tensors       %d\n", m.Tensors)
	for _, s := range m.TensorTypes {
		fmt.Fprintf(w, "  %-8s %4d tensors %10s\n", s.Type, s.Count, humanBytes(int64(s.Bytes)))
	}
}
