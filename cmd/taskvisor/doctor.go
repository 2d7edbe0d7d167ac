package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// runDoctor is `taskvisor doctor`: it says which mechanisms that keep tasks
// from outliving their stop are in force on this machine, and why not when
// not. It starts no task and leaves nothing behind; it exits 0 whatever it
// finds (2 on a bad argument).
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskvisor doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "taskvisor doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	defer proc.RemoveCgroupTree()
	// As taskvisor does when it runs tasks, so that Diagnose says what is in
	// force then, not only what the kernel offers; doctor has no children.
	_ = proc.BecomeSubreaper()
	for _, m := range proc.Diagnose() {
		printMechanism(stdout, m)
	}
	if !notify.Supported {
		printMechanism(stdout, proc.Mechanism{Name: "notify dir", Detail: "sd_notify is Linux only"})
		return 0
	}
	dir, err := notify.NewDir()
	if err != nil {
		printMechanism(stdout, proc.Mechanism{Name: "notify dir", Detail: err.Error()})
		return 0
	}
	defer os.RemoveAll(dir)
	fi, err := os.Stat(dir)
	detail := "sockets in a private directory like " + dir
	if err == nil {
		detail += fmt.Sprintf(" (mode %v), removed at exit; datagrams from outside a task's tree are dropped", fi.Mode().Perm())
	}
	printMechanism(stdout, proc.Mechanism{Name: "notify dir", InForce: err == nil, Detail: detail})
	return 0
}

func printMechanism(w io.Writer, m proc.Mechanism) {
	mark := "no "
	if m.InForce {
		mark = "yes"
	}
	fmt.Fprintf(w, "%-15s %s  %s\n", m.Name, mark, m.Detail)
}
