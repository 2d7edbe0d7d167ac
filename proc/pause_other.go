//go:build !linux

package proc

import "golang.org/x/sys/unix"

// signalRun has nothing beyond the process group to signal: without cgroups
// an escapee of the group is not found.
func (r *taskRun) signalRun(unix.Signal) {}
