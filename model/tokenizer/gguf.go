package tokenizer

import (
	"fmt"
	"strings"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

const keyPrefix = "tokenizer.ggml."

// FromGGUF builds the tokenizer stored in a GGUF file's metadata. It needs
// no tensors, so vocabulary-only files work.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the tokenizer.ggml.* metadata into a Vocab. Errors name
// the key at fault.
func VocabFromGGUF(f *gguf.File) (*Vocab, error) {
	v := &Vocab{IDs: map[string]int64{}}
	var ok bool
	if v.Model, ok = f.String(keyPrefix + "model"); !ok {
		if _, present := f.Get(keyPrefix + "model"); present {
			return nil, fmt.Errorf("tokenizer: %smodel is not a string", keyPrefix)
		}
		return nil, fmt.Errorf("tokenizer: no tokenizer in this file (%smodel missing)", keyPrefix)
	}
	if val, present := f.Get(keyPrefix + "pre"); present {
		if v.Pre, ok = val.String(); !ok {
			return nil, fmt.Errorf("tokenizer: %spre is not a string", keyPrefix)
		}
	}
	val, present := f.Get(keyPrefix + "tokens")
	if !present {
		return nil, fmt.Errorf("tokenizer: %stokens missing", keyPrefix)
	}
	if v.Tokens, ok = val.Strings(); !ok {
		return nil, fmt.Errorf("tokenizer: %stokens is not an array of strings", keyPrefix)
	}
	if val, present := f.Get(keyPrefix + "token_type"); present {
		types, ok := val.Int32s()
		if !ok {
			return nil, fmt.Errorf("tokenizer: %stoken_type is not an integer array", keyPrefix)
		}
		v.Types = make([]TokenType, len(types))
		for i, ty := range types {
			v.Types[i] = TokenType(ty)
		}
	}
	if val, present := f.Get(keyPrefix + "scores"); present {
		if v.Scores, ok = val.Float32s(); !ok {
			ints, iok := val.Int32s()
			if !iok {
				return nil, fmt.Errorf("tokenizer: %sscores is not a number array", keyPrefix)
			}
			v.Scores = make([]float32, len(ints))
			for i, x := range ints {
				v.Scores[i] = float32(x)
			}
		}
	}
	if val, present := f.Get(keyPrefix + "merges"); present {
		if v.Merges, ok = val.Strings(); !ok {
			return nil, fmt.Errorf("tokenizer: %smerges is not an array of strings", keyPrefix)
		}
	}
	for _, kv := range f.KVs {
		name, found := strings.CutPrefix(kv.Key, keyPrefix)
		if !found || !strings.HasSuffix(name, "_token_id") {
			continue
		}
		id, ok := kv.Value.Int()
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s is not an integer", kv.Key)
		}
		v.IDs[name] = id
	}
	for key, dst := range map[string]**bool{
		"add_bos_token":    &v.AddBOS,
		"add_eos_token":    &v.AddEOS,
		"add_space_prefix": &v.AddSpacePrefix,
	} {
		if val, present := f.Get(keyPrefix + key); present {
			b, ok := val.Bool()
			if !ok {
				return nil, fmt.Errorf("tokenizer: %s%s is not a boolean", keyPrefix, key)
			}
			*dst = &b
		}
	}
	return v, nil
}

// Open reads the tokenizer of the GGUF file at path.
func Open(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return FromGGUF(f)
}
