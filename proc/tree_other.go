//go:build !linux

package proc

import "time"

// descendsFrom would walk pid's chain of parents; without /proc it finds
// nothing, and Contains relies on the leader's pid and the process group.
func descendsFrom(pid, ancestor int) bool { return false }

// groupHasLive cannot tell zombies from running processes without /proc:
// it trusts kill(-pgid, 0), which said the group has a member.
func groupHasLive(pgid int) bool { return true }

// settleGroup cannot see the group's members without /proc: the SIGKILL sent
// before the leader was reaped has to do.
func settleGroup(pgid int, deadline time.Time) bool { return true }
