package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/taskfile"
)

// loadCatalogue returns the catalogue and groups to run: from a TOML task
// file, a Procfile, or the built-in demo. exe is this binary, which a task
// file names as "@taskvisor".
func loadCatalogue(tasksFile, procfile, exe string) (actors.Catalogue, []actors.GroupSpec, error) {
	f, err := loadFile(tasksFile, procfile, exe, false)
	if err != nil {
		return nil, nil, err
	}
	return f.Tasks, f.Groups, nil
}

// loadFile loads the task file that the flags name, or the built-in demo.
// check also checks each task's dir and argv[0] (taskfile.Options.CheckPaths).
func loadFile(tasksFile, procfile, exe string, check bool) (*taskfile.File, error) {
	switch {
	case tasksFile != "" && procfile != "":
		return nil, errors.New("--tasks and --procfile: give one of the two")
	case tasksFile != "":
		f, err := taskfile.Load(tasksFile, taskfile.Options{Self: exe, CheckPaths: check})
		if err != nil && looksLikeProcfile(tasksFile) {
			err = fmt.Errorf("%w\n%s is not a TOML task file but reads as a Procfile: give it with --procfile", err, tasksFile)
		}
		return f, err
	case procfile != "":
		return taskfile.LoadProcfile(procfile)
	}
	return demoFile(exe)
}

// looksLikeProcfile reports whether the file at path parses as a Procfile,
// for the hint on a TOML error.
func looksLikeProcfile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	_, err = taskfile.ParseProcfile(path, data)
	return err == nil
}

// maxParallelFlag is --max-parallel, the whole runtime's parallelism limit.
func maxParallelFlag(fs *flag.FlagSet) *int {
	n := new(int)
	fs.Func("max-parallel", "run at most `N` tasks' processes at once, the rest queued first come first (default: no limit)", func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return fmt.Errorf("want a count of 0 (no limit) or more, got %q", s)
		}
		*n = v
		return nil
	})
	return n
}
