//go:build !linux

package proc

// Mechanism is one of the means by which proc keeps a task's processes from
// outliving it, and whether it is in force on this machine.
type Mechanism struct {
	// Name names it: "subreaper", "cgroup v2", ...
	Name string
	// InForce says it works here.
	InForce bool
	// Detail says where or how, or why not.
	Detail string
}

// Diagnose reports that only process groups are available off Linux.
func Diagnose() []Mechanism {
	return []Mechanism{
		{"process group", true, "a task and what it forks without leaving its group are stopped together"},
		{"subreaper, cgroup v2, pidfd, guard", false, "Linux only"},
	}
}

// RemoveCgroupTree does nothing off Linux.
func RemoveCgroupTree() {}
