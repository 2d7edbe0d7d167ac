package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a goroutine outlives the tests: the worker's
// tests start child processes, with goroutines that wait for them and copy
// their output, and run the worker in process, with its signal handling.
// (The test binary run as a worker never gets here: see init in
// worker_test.go.)
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
