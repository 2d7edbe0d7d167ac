package main

import (
	"errors"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/taskfile"
)

// loadCatalogue returns the catalogue and groups to run: from a TOML task
// file, a Procfile, or the built-in demo. exe is this binary, which a task
// file names as "@taskvisor".
func loadCatalogue(tasksFile, procfile, exe string) (actors.Catalogue, []actors.GroupSpec, error) {
	f, err := loadFile(tasksFile, procfile, exe)
	if err != nil {
		return nil, nil, err
	}
	return f.Tasks, f.Groups, nil
}

// loadFile loads the task file that the flags name, or the built-in demo.
func loadFile(tasksFile, procfile, exe string) (*taskfile.File, error) {
	switch {
	case tasksFile != "" && procfile != "":
		return nil, errors.New("--tasks and --procfile: give one of the two")
	case tasksFile != "":
		return taskfile.Load(tasksFile, taskfile.Options{Self: exe})
	case procfile != "":
		return taskfile.LoadProcfile(procfile)
	}
	return demoFile(exe)
}
