// Command ghostline is a code-completion language server with its own
// transformer decoder. This file holds the subcommand dispatcher; each
// subcommand lives in its own cmd_*.go file and registers itself in the
// commands table, so adding one never touches another.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ghostline-dev/ghostline/decode"
)

// command is one subcommand. Name may contain a space for a group
// ("model info"); the dispatcher matches the longest name first.
type command struct {
	name    string
	summary string // one line for the top-level help
	usage   string // the synopsis after "ghostline NAME"
	// setup declares the command's flags and returns its runner; it is
	// called with a fresh FlagSet so --help can list the flags.
	setup func(fs *flag.FlagSet) func(args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// usageError marks an error caused by how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topHelp(stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintln(stdout, "ghostline", version)
		return 0
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "ghostline: unknown command %q (see ghostline --help)\n", strings.Join(args[:min(2, len(args))], " "))
		return 1
	}
	fs := flag.NewFlagSet("ghostline "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := cmd.setup(fs)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		commandHelp(stdout, cmd, fs)
		return 0
	}
	if err == nil {
		err = runner(pos)
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		if errors.Is(err, decode.ErrNonFinite) {
			msg += "; the model file may be corrupt: `ghostline doctor` checks the installed models' checksums, " +
				"`ghostline pull [NAME]` downloads one again (a model given by path must be replaced by hand)"
		}
		fmt.Fprintf(stderr, "ghostline %s: %s\n", cmd.name, msg)
		return 1
	}
	return 0
}

// lookup finds the command named by the first one or two arguments.
func lookup(args []string) (*command, []string) {
	if len(args) >= 2 {
		for _, c := range commands {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:]
			}
		}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c, args[1:]
		}
	}
	return nil, nil
}

// parseInterspersed parses flags that may stand before or after positional
// arguments (the standard flag package stops at the first positional).
// "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at "--" (consumed) or at a positional argument.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func topHelp(w io.Writer) {
	fmt.Fprintf(w, "ghostline %s — code completion with its own transformer decoder\n\nUsage: ghostline COMMAND [flags] [args]\n\nCommands:\n", version)
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ghostline COMMAND --help' for a command's flags.")
}

func commandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: ghostline %s %s\n\n%s\n", c.name, c.usage, c.summary)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags (before or after the arguments):")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

const version = "0.1.0-dev"
