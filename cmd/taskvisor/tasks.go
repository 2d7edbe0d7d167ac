package main

import (
	"errors"

	"github.com/taskvisor/taskvisor/actors"
)

// loadCatalogue returns the catalogue and groups to run: from a TOML task
// file, a Procfile, or the built-in demo.
func loadCatalogue(tasksFile, procfile, exe string) (actors.Catalogue, []actors.GroupSpec, error) {
	if tasksFile != "" || procfile != "" {
		return nil, nil, errors.New("--tasks and --procfile: task files are not supported yet")
	}
	return demoCatalogue(exe), nil, nil
}
