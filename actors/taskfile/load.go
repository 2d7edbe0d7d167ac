package taskfile

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/taskvisor/taskvisor/actors"
)

// SelfArg is the argv[0] that stands for the running taskvisor executable:
// argv = ["@taskvisor", "worker", "texture"] runs Options.Self with those
// arguments. It is recognised only as the first element of argv, never in a
// command string.
const SelfArg = "@taskvisor"

// Options adjust how a file is read.
type Options struct {
	// Self is the path of the taskvisor executable that SelfArg stands for.
	// Empty: a file that uses SelfArg is an error.
	Self string
	// BaseDir is the directory a relative `dir` is resolved against. Empty:
	// Load uses the task file's directory; Parse leaves relative dirs as
	// they are (relative to taskvisor's working directory).
	BaseDir string
	// CheckPaths also checks what a run would find missing only when the
	// task starts: that each `dir` is an existing directory, and that an
	// argv[0] is an executable (looked up in PATH when it has no '/').
	// `taskvisor check` sets it; a run does not, since a directory or
	// program may appear before the task starts. False: not checked.
	CheckPaths bool
}

// File is a loaded task file: the catalogue and its supervision groups, both
// in the order of the file. Fields the file leaves out are zero, meaning the
// runtime's defaults.
type File struct {
	// Name is the name the file was loaded under.
	Name string
	// Tasks are the task templates, in file order (autostart tasks start in
	// this order).
	Tasks actors.Catalogue
	// Groups are the supervision groups, in file order.
	Groups []actors.GroupSpec

	// order is the declaration order of tasks and groups together: an index
	// into Tasks (>= 0) or -1-index into Groups.
	order []int
}

// Load reads and parses the TOML task file at path. Relative `dir` values
// are resolved against the file's directory unless opts.BaseDir says
// otherwise. The error is an Errors unless the file could not be read.
func Load(path string, opts Options) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("task file: %w", err)
	}
	if opts.BaseDir == "" {
		// Absolute, so that the specs do not depend on taskvisor's working
		// directory staying where it was.
		if opts.BaseDir, err = filepath.Abs(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("task file: %w", err)
		}
	}
	return Parse(path, data, opts)
}

// Parse parses a TOML task file held in data; name is the file name used in
// errors. On error it returns Errors, every problem found with its position.
func Parse(name string, data []byte, opts Options) (*File, error) {
	l := newLoader(name, data, opts)
	l.load()
	return l.finish()
}

// finish sorts the problems into file order, runs the actors package's own
// validation as a last net, and builds the File.
func (l *loader) finish() (*File, error) {
	f := &File{Name: l.name}
	for _, t := range l.tasks {
		f.Tasks = append(f.Tasks, t.task)
	}
	for _, g := range l.groups {
		f.Groups = append(f.Groups, g.group)
	}
	f.order = l.order
	errs := l.resolve()
	if len(errs) == 0 {
		// The loader checks everything actors does, with positions; this
		// catches a rule added there and not yet here.
		for _, err := range []error{f.Tasks.Validate(), actors.ValidateGroups(f.Groups, f.Tasks)} {
			if err != nil {
				errs = append(errs, &Error{File: l.name, Msg: err.Error()})
			}
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *Error) int {
			if (a.Line == 0) != (b.Line == 0) {
				// Problems without a place come last.
				if a.Line == 0 {
					return 1
				}
				return -1
			}
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, errs
	}
	return f, nil
}
