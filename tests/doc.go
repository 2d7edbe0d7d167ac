// Package tests holds taskvisor's end-to-end tests: the real binary, real
// processes, driven the way a user drives it. They build cmd/taskvisor once
// per run.
package tests
