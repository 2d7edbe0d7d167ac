//go:build !linux

package proc

// descendsFrom would walk pid's chain of parents; without /proc it finds
// nothing, and Contains relies on the leader's pid and the process group.
func descendsFrom(pid, ancestor int) bool { return false }
