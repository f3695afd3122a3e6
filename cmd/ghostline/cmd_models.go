package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/ghostline-dev/ghostline/model/store"
)

// modelsReport is the JSON shape of `ghostline models --json`.
type modelsReport struct {
	Store     string        `json:"store"`
	Ollama    string        `json:"ollama_store"`
	Default   string        `json:"default"`
	Models    []store.Model `json:"models"`
	Available []catalogRow  `json:"available"` // catalogue models not installed
}

type catalogRow struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Size        int64  `json:"size"`
	License     string `json:"license"`
	Pull        string `json:"pull"`
}

func init() {
	register(&command{
		name:    "models",
		summary: "list installed models (the store's and Ollama's) and those available to pull",
		usage:   "[--json] [--verify]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			asJSON := fs.Bool("json", false, "print JSON on stdout")
			verify := fs.Bool("verify", false, "rehash every file, even unchanged ones and Ollama blobs")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				s, err := openModelStore()
				if err != nil {
					return err
				}
				rep, err := listModels(s, *verify)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(os.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				printModels(rep)
				return nil
			}
		},
	})
}

func listModels(s *store.Store, verify bool) (modelsReport, error) {
	ms, err := s.List(store.ListOptions{Verify: verify})
	if err != nil {
		return modelsReport{}, err
	}
	rep := modelsReport{Store: s.Dir, Ollama: s.OllamaDir, Default: store.DefaultModel, Models: ms,
		Available: []catalogRow{}}
	if rep.Models == nil {
		rep.Models = []store.Model{}
	}
	have := map[string]bool{}
	for _, m := range ms {
		if m.Problem == "" {
			have[m.Name] = true
		}
	}
	for _, e := range store.Catalog() {
		if !have[e.Name] {
			rep.Available = append(rep.Available, catalogRow{Name: e.Name, Description: e.Description, Size: e.Size,
				License: e.License, Pull: store.PullCommand(e.Name, "")})
		}
	}
	return rep, nil
}

func printModels(rep modelsReport) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(os.Stdout, "store: %s\n", rep.Store)
	if len(rep.Models) == 0 {
		fmt.Fprintln(os.Stdout, "no models installed")
	} else {
		fmt.Fprintln(w, "NAME\tSIZE\tSHA256\tSOURCE\tPATH")
		for _, m := range rep.Models {
			name := m.Name
			if m.Default {
				name += " (default)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", name, humanBytes(m.Size), checkWord(m), m.Source, m.Path)
		}
		w.Flush()
		for _, m := range rep.Models {
			if m.Problem != "" {
				fmt.Fprintf(os.Stdout, "problem: %s: %s\n", m.Name, m.Problem)
			}
		}
	}
	if len(rep.Available) > 0 {
		fmt.Fprintln(os.Stdout, "\navailable:")
		for _, a := range rep.Available {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", a.Name, humanBytes(a.Size), a.Description, a.Pull)
		}
		w.Flush()
	}
}

// checkWord renders a model's digest check for the table.
func checkWord(m store.Model) string {
	switch {
	case m.SHA256OK == nil:
		return "not checked"
	case !*m.SHA256OK:
		return "MISMATCH"
	case m.Checked == "unchanged":
		return "ok (unchanged)"
	}
	return "ok"
}
