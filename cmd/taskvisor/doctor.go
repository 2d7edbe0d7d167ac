package main

import (
	"fmt"
	"io"
)

// runDoctor is `taskvisor doctor`: it says which mechanisms that keep tasks
// from outliving their stop are in force on this machine, and why.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "taskvisor doctor: not built yet")
	return 2
}
