package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/ghostline-dev/ghostline/model/store"
	"github.com/ghostline-dev/ghostline/projectgraph"
)

// doctorReport is the JSON shape of `ghostline doctor --json`.
type doctorReport struct {
	Version  string        `json:"version"`
	OS       string        `json:"os"`
	Arch     string        `json:"arch"`
	CPU      cpuReport     `json:"cpu"`
	Default  defaultReport `json:"default_model"`
	Models   []store.Model `json:"models"`
	Dirs     []dirReport   `json:"dirs"`
	GPU      gpuReport     `json:"gpu"`
	Problems []doctorIssue `json:"problems"`
	OK       bool          `json:"ok"`
}

type cpuReport struct {
	Model      string `json:"model"`
	Cores      int    `json:"cores"`
	AVX2       bool   `json:"avx2"`
	AVX512F    bool   `json:"avx512f"`
	AVX512VNNI bool   `json:"avx512_vnni"`
	AVXVNNI    bool   `json:"avx_vnni"`
	// AMX* are what CPUID reports; AMXUsable says whether Ghostline may use
	// the tiles (CPUID alone is not enough: the kernel must enable the tile
	// state and grant the process permission).
	AMXTile   bool   `json:"amx_tile"`
	AMXInt8   bool   `json:"amx_int8"`
	AMXBF16   bool   `json:"amx_bf16"`
	AMXUsable string `json:"amx_usable"`
}

type defaultReport struct {
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Path      string `json:"path,omitempty"`
}

type dirReport struct {
	Role     string `json:"role"` // "models", "index", "ollama"
	Path     string `json:"path"`
	Exists   bool   `json:"exists"`
	Writable bool   `json:"writable"`
}

type gpuReport struct {
	Found     bool     `json:"found"`
	NvidiaSMI string   `json:"nvidia_smi,omitempty"` // path, "" when absent
	Devices   []string `json:"devices"`              // "NAME, MEMORY, DRIVER" per GPU
	DevNodes  bool     `json:"dev_nvidia0"`
	Note      string   `json:"note,omitempty"`
}

type doctorIssue struct {
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

func init() {
	register(&command{
		name:    "doctor",
		summary: "check CPU features, installed models and their checksums, directories and GPU",
		usage:   "[--json]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			asJSON := fs.Bool("json", false, "print JSON on stdout")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				rep := runDoctor()
				if *asJSON {
					enc := json.NewEncoder(os.Stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(rep); err != nil {
						return err
					}
				} else {
					printDoctor(os.Stdout, rep)
				}
				if !rep.OK {
					return fmt.Errorf("%d problem(s) found", len(rep.Problems))
				}
				return nil
			}
		},
	})
}

func runDoctor() doctorReport {
	rep := doctorReport{Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH, Models: []store.Model{},
		Problems: []doctorIssue{}}
	problem := func(p, fix string) { rep.Problems = append(rep.Problems, doctorIssue{p, fix}) }

	rep.CPU = cpuReport{Model: cpuModelName(), Cores: runtime.NumCPU(),
		AVX2: cpu.X86.HasAVX2, AVX512F: cpu.X86.HasAVX512F, AVX512VNNI: cpu.X86.HasAVX512VNNI, AVXVNNI: cpu.X86.HasAVXVNNI,
		AMXTile: cpu.X86.HasAMXTile, AMXInt8: cpu.X86.HasAMXInt8, AMXBF16: cpu.X86.HasAMXBF16}
	rep.CPU.AMXUsable = amxUsable()
	if runtime.GOARCH == "amd64" && !rep.CPU.AVX2 {
		problem("the CPU (or the OS) offers no AVX2: matrix kernels run in portable Go, several times slower",
			"none in software: use a machine with AVX2, or a smaller model (ghostline pull smollm2-135m)")
	}

	modelsDir, err := store.DefaultDir()
	if err != nil {
		problem(err.Error(), "export XDG_CACHE_HOME=/some/writable/dir")
	}
	indexDir, ierr := projectgraph.CacheDir()
	if ierr != nil {
		problem(ierr.Error(), "export XDG_CACHE_HOME=/some/writable/dir")
	}
	for _, d := range []struct{ role, path string }{{"models", modelsDir}, {"index", indexDir}, {"ollama", store.DefaultOllamaDir()}} {
		if d.path == "" {
			continue
		}
		dr := dirReport{Role: d.role, Path: d.path}
		if fi, err := os.Stat(d.path); err == nil && fi.IsDir() {
			dr.Exists = true
			dr.Writable = writable(d.path)
		} else {
			// A missing cache directory is created on first use; what
			// matters is whether its nearest existing parent is writable.
			dr.Writable = writable(existingParent(d.path))
		}
		rep.Dirs = append(rep.Dirs, dr)
		if d.role != "ollama" && !dr.Writable {
			problem(fmt.Sprintf("the %s directory %s is not writable", d.role, d.path),
				fmt.Sprintf("mkdir -p %s && chmod u+w %s (or export XDG_CACHE_HOME=/some/writable/dir)", d.path, d.path))
		}
	}

	rep.Default = defaultReport{Name: store.DefaultModel}
	if modelsDir != "" {
		s, err := openModelStore()
		if err != nil {
			problem(err.Error(), "export XDG_CACHE_HOME=/some/writable/dir")
		} else {
			ms, err := s.List(store.ListOptions{Verify: true})
			if err != nil {
				problem(err.Error(), "check the permissions of "+s.OllamaDir)
			}
			if ms != nil {
				rep.Models = ms
			}
			for _, m := range ms {
				if m.Problem != "" && m.Store == "ghostline" {
					problem(fmt.Sprintf("model %s: %s", m.Name, m.Problem), store.PullCommand(m.Name, m.Source))
				}
			}
			if p, err := s.Resolve(""); err == nil {
				rep.Default.Installed, rep.Default.Path = true, p
			} else {
				var ni *store.NotInstalledError
				if errors.As(err, &ni) {
					problem(fmt.Sprintf("the default model %s is not installed in %s", store.DefaultModel, s.Dir), store.PullCommand(store.DefaultModel, ""))
				} else {
					problem(fmt.Sprintf("the default model %s: %v", store.DefaultModel, err), store.PullCommand(store.DefaultModel, ""))
				}
			}
			for _, st := range stalePulls(s.Dir) {
				resume := "the same ghostline pull again" // a URL or package: only the user knows which
				if _, ok := store.Lookup(st.name); ok {
					resume = store.PullCommand(st.name, "")
				}
				problem(fmt.Sprintf("an interrupted pull of %s left %s in %s", st.name, humanBytes(st.bytes), st.dir),
					fmt.Sprintf("%s (to resume), or rm -rf %s", resume, st.dir))
			}
		}
	}

	rep.GPU = findGPU()
	rep.OK = len(rep.Problems) == 0
	return rep
}

// stalePull is a staging folder that an interrupted pull left behind.
type stalePull struct {
	name, dir string
	bytes     int64
}

func stalePulls(storeDir string) []stalePull {
	root := filepath.Join(storeDir, ".partial")
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []stalePull
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		st := stalePull{name: e.Name(), dir: filepath.Join(root, e.Name())}
		filepath.WalkDir(st.dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					st.bytes += fi.Size()
				}
			}
			return nil
		})
		out = append(out, st)
	}
	return out
}

func existingParent(p string) string {
	for {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
}

// writable tries to create a file in dir: permission bits alone do not
// tell (read-only mounts, ACLs, root).
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".ghostline-doctor-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

// cpuModelName reads the CPU's marketing name where the OS tells it.
func cpuModelName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// findGPU looks for an NVIDIA GPU: the driver's device node and nvidia-smi.
func findGPU() gpuReport {
	g := gpuReport{Devices: []string{}}
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		g.DevNodes = true
	}
	if p, err := exec.LookPath("nvidia-smi"); err == nil {
		g.NvidiaSMI = p
		// nvidia-smi can hang on a wedged driver; five seconds is far
		// more than a healthy one needs.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, p, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader").Output()
		if err != nil {
			g.Note = "nvidia-smi failed: " + err.Error()
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				g.Devices = append(g.Devices, l)
			}
		}
	}
	g.Found = len(g.Devices) > 0 || g.DevNodes
	if !g.Found {
		g.Note = "no nvidia-smi in PATH and no /dev/nvidia0; Ghostline runs on the CPU"
	}
	return g
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printDoctor(w io.Writer, r doctorReport) {
	fmt.Fprintf(w, "ghostline %s  %s/%s\n\n", r.Version, r.OS, r.Arch)
	fmt.Fprintf(w, "CPU     %s, %d logical cores\n", r.CPU.Model, r.CPU.Cores)
	fmt.Fprintf(w, "  AVX2 %s   AVX-512F %s   AVX-512 VNNI %s   AVX-VNNI %s\n", yesNo(r.CPU.AVX2), yesNo(r.CPU.AVX512F),
		yesNo(r.CPU.AVX512VNNI), yesNo(r.CPU.AVXVNNI))
	fmt.Fprintf(w, "  AMX reported by CPUID: tile %s, int8 %s, bf16 %s\n", yesNo(r.CPU.AMXTile), yesNo(r.CPU.AMXInt8), yesNo(r.CPU.AMXBF16))
	fmt.Fprintf(w, "  AMX usable: %s\n\n", r.CPU.AMXUsable)
	fmt.Fprintf(w, "Default model  %s: ", r.Default.Name)
	if r.Default.Installed {
		fmt.Fprintf(w, "installed (%s)\n", r.Default.Path)
	} else {
		fmt.Fprintln(w, "not installed")
	}
	fmt.Fprintln(w, "Models")
	if len(r.Models) == 0 {
		fmt.Fprintln(w, "  none installed")
	}
	for _, m := range r.Models {
		fmt.Fprintf(w, "  %-28s %9s  sha256 %-14s %s\n", m.Name, humanBytes(m.Size), checkWord(m), m.Path)
	}
	fmt.Fprintln(w, "Directories")
	for _, d := range r.Dirs {
		state := "absent, created on first use"
		if d.Role == "ollama" && !d.Exists {
			state = "absent"
		} else if d.Exists {
			state = "exists"
		}
		if d.Role != "ollama" {
			state += "; writable " + yesNo(d.Writable)
		}
		fmt.Fprintf(w, "  %-7s %s (%s)\n", d.Role, d.Path, state)
	}
	fmt.Fprint(w, "GPU     ")
	switch {
	case len(r.GPU.Devices) > 0:
		fmt.Fprintln(w, strings.Join(r.GPU.Devices, "; "))
	case r.GPU.Found:
		fmt.Fprintln(w, "/dev/nvidia0 present, nvidia-smi "+map[bool]string{true: "failed", false: "not in PATH"}[r.GPU.NvidiaSMI != ""])
	default:
		fmt.Fprintln(w, "none found")
	}
	if r.GPU.Note != "" {
		fmt.Fprintln(w, "  "+r.GPU.Note)
	}
	fmt.Fprintln(w)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "No problems found.")
		return
	}
	fmt.Fprintf(w, "%d problem(s):\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n    fix: %s\n", p.Problem, p.Fix)
	}
}
