package projectgraph

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Batch is a debounced set of changes. Paths are hints: the index re-reads
// what is there now. Overflow means events were lost and the whole
// workspace must be re-scanned.
type Batch struct {
	Paths    []string // absolute paths of changed files and directories
	Overflow bool
}

// Watcher reports file-system changes under a root as debounced batches.
// Implementations: fsnotify (NewWatcher); tests may feed batches directly.
type Watcher interface {
	// Events delivers batches until Close; it is closed then.
	Events() <-chan Batch
	Close() error
}

// Debounce timing. A batch is sent once no event has arrived for
// debounceQuiet, or debounceMax after its first event. 150 ms coalesces an
// editor's save (write, rename and chmod arrive within a few ms) and lets
// a `git checkout` of thousands of files arrive as a handful of batches,
// while the completion that follows a save still sees the new text; 1 s
// bounds the staleness under a continuous stream of writes (a build
// writing into the tree).
const (
	debounceQuiet = 150 * time.Millisecond
	debounceMax   = time.Second
)

// maxWatchDirs bounds the directories one watcher watches (a var for
// tests). Each is a kernel inotify watch (~1 KiB of kernel memory, and
// fs.inotify.max_user_watches is per user, shared with every other
// program): 50,000 covers the largest source trees, while a workspace
// opened at $HOME would otherwise walk, and watch, everything below it
// before its first batch.
var maxWatchDirs = 50_000

// maxPending bounds the paths held for one batch; past it the batch is
// sent as an overflow (a full re-scan is then cheaper and certain).
const maxPending = 4096

type fsWatcher struct {
	root string
	skip map[string]bool
	w    *fsnotify.Watcher
	// dirs are the watched directories (owned by loop once it runs). A
	// directory renamed or removed has its watches and those below it
	// dropped: the kernel's watch of a moved directory follows the inode
	// but keeps the old path in fsnotify, so re-adding it under the new
	// name would report its files under the old one.
	dirs   map[string]bool
	out    chan Batch
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	quiet  time.Duration
	maxLag time.Duration
}

// PartialWatchError reports directories NewWatcher could not watch (most
// often the user's inotify watch limit, fs.inotify.max_user_watches): the
// watcher runs, but changes there reach the index only through a re-scan
// or the editor's own file events.
type PartialWatchError struct {
	Failed int   // directories not watched, nor those below them
	Err    error // the first failure
}

func (e *PartialWatchError) Error() string {
	return fmt.Sprintf("projectgraph: %d directories (and those below them) are not watched for changes (first: %v); raise fs.inotify.max_user_watches or narrow the workspace", e.Failed, e.Err)
}

func (e *PartialWatchError) Unwrap() error { return e.Err }

// note counts one more directory left unwatched, keeping the first reason.
func (e *PartialWatchError) note(err error) {
	if e.Failed++; e.Err == nil {
		e.Err = err
	}
}

// NewWatcher watches root and every directory below it (new ones are added
// as they appear), skipping the directories the scan skips. When some
// directories cannot be watched it returns the running watcher together
// with a *PartialWatchError.
func NewWatcher(root string, cfg Config) (Watcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmtErr("watch", err)
	}
	fw := &fsWatcher{root: abs, skip: cfg.skipDirs(), w: w, dirs: map[string]bool{}, out: make(chan Batch, 4),
		done: make(chan struct{}), quiet: debounceQuiet, maxLag: debounceMax}
	failed, err := fw.addTree(abs)
	if err != nil {
		w.Close()
		return nil, fmtErr("watch", err)
	}
	fw.wg.Add(1)
	go fw.loop()
	if failed.Failed > 0 {
		return fw, &failed
	}
	return fw, nil
}

func fmtErr(op string, err error) error { return errors.Join(errors.New("projectgraph: "+op), err) }

func (fw *fsWatcher) Events() <-chan Batch { return fw.out }

func (fw *fsWatcher) Close() error {
	var err error
	fw.once.Do(func() {
		close(fw.done)
		err = fw.w.Close()
		fw.wg.Wait()
	})
	return err
}

// addTree watches dir and its subdirectories, recording them in fw.dirs.
// A directory that vanishes meanwhile is skipped, not an error; an error
// on dir itself is returned, and the subdirectories that could not be
// watched are counted in failed.
func (fw *fsWatcher) addTree(dir string) (failed PartialWatchError, _ error) {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != fw.root && skippedDir(fw.skip, d.Name(), p) {
			return filepath.SkipDir
		}
		if len(fw.dirs) >= maxWatchDirs {
			failed.note(fmt.Errorf("%s: the watcher's limit of %d directories is reached", p, maxWatchDirs))
			return filepath.SkipAll
		}
		if err := fw.w.Add(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // vanished meanwhile
			}
			if p == dir {
				return err
			}
			failed.note(fmt.Errorf("%s: %w", p, err))
			return filepath.SkipDir
		}
		fw.dirs[p] = true
		return nil
	})
	return failed, err
}

// dropTree stops watching dir and every watched directory below it.
func (fw *fsWatcher) dropTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range fw.dirs {
		if d == dir || strings.HasPrefix(d, prefix) {
			_ = fw.w.Remove(d) // gone already when the kernel dropped it
			delete(fw.dirs, d)
		}
	}
}

func (fw *fsWatcher) loop() {
	defer fw.wg.Done()
	defer close(fw.out)
	pending := map[string]bool{}
	overflow := false
	var first time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(pending) == 0 && !overflow {
			return
		}
		b := Batch{Overflow: overflow}
		if !overflow {
			for p := range pending {
				b.Paths = append(b.Paths, p)
			}
		}
		pending, overflow = map[string]bool{}, false
		select {
		case fw.out <- b:
		case <-fw.done:
		}
	}
	arm := func() {
		if first.IsZero() {
			first = time.Now()
		}
		wait := fw.quiet
		if lag := fw.maxLag - time.Since(first); lag < wait {
			wait = max(lag, 0)
		}
		timer.Reset(wait)
	}
	for {
		select {
		case <-fw.done:
			return
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			if (ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove)) && fw.dirs[ev.Name] && ev.Name != fw.root {
				fw.dropTree(ev.Name)
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
					// Files created before the watch was added sent no
					// event: the directory's path makes the index scan it.
					// A directory left unwatched (the kernel's watch
					// limit) is caught up by the re-scan an overflow
					// starts; past the watcher's own limit it stays
					// unwatched, or every new folder of a huge tree would
					// re-scan it.
					if failed, err := fw.addTree(ev.Name); err != nil || failed.Failed > 0 && len(fw.dirs) < maxWatchDirs {
						overflow = true
					}
				}
			}
			pending[ev.Name] = true
			if len(pending) > maxPending {
				overflow = true
			}
			arm()
		case err, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			// Lost events (the kernel queue overflowed) or a failed
			// watch: the re-scan is the source of truth either way.
			_ = err
			overflow = true
			arm()
		case <-timer.C:
			first = time.Time{}
			flush()
		}
	}
}

// Watch applies w's batches to the index until ctx ends or w closes:
// Update for ordinary batches, Rescan after an overflow. Errors go to
// onErr (which may be nil); they never stop the loop, since the next
// batch or re-scan may succeed.
func (ix *Index) Watch(ctx context.Context, w Watcher, onErr func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-w.Events():
			if !ok {
				return
			}
			if err := ix.Apply(ctx, b); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Apply brings the index up to date with one watcher batch: Update for
// its paths, or Rescan after an overflow (the paths are then unknown).
// Watch calls it per batch; callers that interleave their own work
// between batches (the language server locks and drops caches) call it
// directly.
func (ix *Index) Apply(ctx context.Context, b Batch) error {
	if b.Overflow {
		return ix.Rescan(ctx)
	}
	return ix.Update(ctx, b.Paths)
}
