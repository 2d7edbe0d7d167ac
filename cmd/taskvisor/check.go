package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/taskvisor/taskvisor/actors/taskfile"
)

// runCheck is `taskvisor check [--procfile] FILE`: it validates a task file
// and prints the tree it would run (exit 0), or every problem found, one a
// line, on stderr (exit 1). Usage errors exit 2.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskvisor check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	procfile := fs.Bool("procfile", false, "FILE is a Procfile (name: command per line), not a TOML task file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: taskvisor check [--procfile] FILE\n\nValidates a task file and prints the supervision tree it describes.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "taskvisor check: give one task file")
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor check: find own executable for \"@taskvisor\": %v\n", err)
		return 1
	}
	var f *taskfile.File
	if *procfile {
		f, err = loadFile("", path, exe, true)
	} else {
		f, err = loadFile(path, "", exe, true)
	}
	if err != nil {
		var problems taskfile.Errors
		if errors.As(err, &problems) {
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
			fmt.Fprintf(stderr, "taskvisor check: %s: %d problem(s)\n", path, len(problems))
			if !*procfile && looksLikeProcfile(path) {
				fmt.Fprintf(stderr, "taskvisor check: %s reads as a Procfile: taskvisor check --procfile %s\n", path, path)
			}
		} else {
			fmt.Fprintf(stderr, "taskvisor check: %v\n", err)
		}
		return 1
	}
	if err := f.WriteTree(stdout); err != nil {
		fmt.Fprintf(stderr, "taskvisor check: %v\n", err)
		return 1
	}
	return 0
}
