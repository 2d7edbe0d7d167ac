package main

import (
	"fmt"
	"io"
)

// runCheck is `taskvisor check FILE`: it validates a task file and prints the
// tree it would run.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "taskvisor check: not built yet")
	return 2
}
