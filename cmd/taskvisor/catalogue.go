package main

import (
	_ "embed"
	"fmt"

	"github.com/taskvisor/taskvisor/actors/taskfile"
)

// demoTOML is the built-in catalogue for the keys 1-9, a task file like any
// other: every template runs this binary's hidden `worker texture`
// subcommand with the behaviour it demonstrates.
//
//go:embed demo.toml
var demoTOML []byte

// demoName is the built-in catalogue's name in errors and in `taskvisor
// check`.
const demoName = "demo.toml (built in)"

// demoFile loads the built-in catalogue, "@taskvisor" standing for exe.
func demoFile(exe string) (*taskfile.File, error) {
	f, err := taskfile.Parse(demoName, demoTOML, taskfile.Options{Self: exe})
	if err != nil {
		return nil, fmt.Errorf("the built-in catalogue: %w", err)
	}
	return f, nil
}
