package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/backend"
	_ "github.com/ghostline-dev/ghostline/model/backend/cpu" // registers "cpu"
)

func init() {
	register(&command{
		name:    "logits",
		summary: "evaluate token ids and print logits as JSON (compare with llama.cpp)",
		usage:   "--model PATH --tokens 1,2,3 [--top 8] [--greedy N] [--threads N] [--device NAME]",
		setup: func(fs *flag.FlagSet) func([]string) error {
			path := fs.String("model", "", "GGUF model file")
			tokens := fs.String("tokens", "", "comma-separated token ids, evaluated in one batch")
			top := fs.Int("top", 8, "logits listed per position")
			greedy := fs.Int("greedy", 0, "greedy continuation steps, one decode call per token")
			threads := fs.Int("threads", 0, "threads (0: one per core)")
			device := fs.String("device", "cpu", "backend: "+strings.Join(backend.Available(), ", ")+" in this build")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"unexpected argument " + strconv.Quote(args[0])}
				}
				if *path == "" {
					return usageError{"--model is required"}
				}
				ids, err := parseIDs(*tokens)
				if err != nil {
					return err
				}
				if *top < 0 || *greedy < 0 {
					return usageError{"--top and --greedy must not be negative"}
				}
				m, err := loadModel(*path, *device, *threads)
				if err != nil {
					return err
				}
				defer m.Close()
				return logits(os.Stdout, m, ids, *top, *greedy)
			}
		},
	})
}

// loadModel opens a model on the named backend.
func loadModel(path, device string, threads int) (*model.Model, error) {
	be, err := backend.New(device, threads)
	if err != nil {
		return nil, err
	}
	return model.Open(path, be)
}

func parseIDs(s string) ([]int32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usageError{"--tokens is required (comma-separated ids)"}
	}
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--tokens: %q is not a token id", f)}
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

// logits evaluates ids in one batch and writes
// {"n_vocab","top_logits","last_logits","greedy"} as the reference files
// have it: greedy continues from the last position, one decode call per
// token.
func logits(w io.Writer, m *model.Model, ids []int32, top, greedy int) error {
	c := m.NewKVCache(len(ids) + greedy)
	want := make([]bool, len(ids))
	for i := range want {
		want[i] = true
	}
	all, err := m.Forward(c, model.Batch{Tokens: ids, Logits: want})
	if err != nil {
		return err
	}
	for _, v := range all {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("the model produced a non-finite logit")
		}
	}
	V := m.Vocab
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `{"n_vocab":%d,"top_logits":[`, V)
	idx := make([]int, V)
	for p := range ids {
		row := all[p*V : (p+1)*V]
		for i := range idx {
			idx[i] = i
		}
		k := min(top, V)
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		if p > 0 {
			bw.WriteByte(',')
		}
		bw.WriteByte('[')
		for j := 0; j < k; j++ {
			if j > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, "[%d,%s]", idx[j], jf(row[idx[j]]))
		}
		bw.WriteByte(']')
	}
	bw.WriteString(`],"last_logits":[`)
	last := all[(len(ids)-1)*V:]
	for i, v := range last {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(jf(v))
	}
	bw.WriteString(`],"greedy":[`)
	pos := int32(len(ids))
	for s := 0; s < greedy; s++ {
		id, margin := model.Argmax(last)
		if s > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"id":%d,"logit":%s,"margin":%s}`, id, jf(last[id]), jf(margin))
		if s == greedy-1 {
			break
		}
		if last, err = m.Decode(c, 0, pos, int32(id)); err != nil {
			return err
		}
		pos++
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// jf formats a float32 as the shortest JSON number that reads back to it.
func jf(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
