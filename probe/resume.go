package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Resume records which targets a run finished, by input index: every
// index below Next is done, plus the indexes in the done set above it
// (hosts finish out of order; the set holds the ones that overtook a slow
// host, so its size is bounded by hosts/s × the host deadline, not by the
// input). A rerun over the same input skips them.
type Resume struct {
	path   string
	mu     sync.Mutex
	inputs string
	next   int64
	done   map[int64]struct{}
	dirty  bool
}

type resumeFile struct {
	Version int     `json:"version"`
	Inputs  string  `json:"inputs"`
	Next    int64   `json:"next"`
	Done    []int64 `json:"done"`
}

// OpenResume reads the resume file at path if it exists, or starts an
// empty one. inputs describes the input (arguments, file names, ports):
// a resume file written for other inputs is refused, since its indexes
// would name other targets.
func OpenResume(path, inputs string) (*Resume, error) {
	r := &Resume{path: path, inputs: inputs, done: map[int64]struct{}{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	var f resumeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a resume file: %v", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: resume file version %d not supported", path, f.Version)
	}
	if f.Inputs != inputs {
		return nil, fmt.Errorf("%s was written for other targets (%q); use a new resume file or the same inputs", path, f.Inputs)
	}
	r.next = f.Next
	for _, i := range f.Done {
		if i >= r.next {
			r.done[i] = struct{}{}
		}
	}
	return r, nil
}

// Done reports whether index i was finished.
func (r *Resume) Done(i int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < r.next {
		return true
	}
	_, ok := r.done[i]
	return ok
}

// Mark records index i as finished.
func (r *Resume) Mark(i int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirty = true
	if i < r.next {
		return
	}
	r.done[i] = struct{}{}
	for {
		if _, ok := r.done[r.next]; !ok {
			break
		}
		delete(r.done, r.next)
		r.next++
	}
}

// Next is the index below which every target is done.
func (r *Resume) Next() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// Save writes the state atomically (a temporary file renamed over the
// old one), so that a crash never leaves half a file.
func (r *Resume) Save() error {
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return nil
	}
	f := resumeFile{Version: 1, Inputs: r.inputs, Next: r.next, Done: make([]int64, 0, len(r.done))}
	for i := range r.done {
		f.Done = append(f.Done, i)
	}
	r.dirty = false
	r.mu.Unlock()
	slices.Sort(f.Done)
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.path), filepath.Base(r.path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), r.path)
}
