package main

import (
	"os"
	"strings"
	"testing"
	"time"

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

// writeWithin gives up on a stderr that nobody reads: a full pipe does not
// keep the last line, and so taskvisor's exit, waiting for ever.
func TestWriteWithinGivesUpOnAFullPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Fill the pipe: the write stops at its deadline with the pipe full.
	if err := w.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1<<20)); err == nil {
		t.Fatal("1 MiB went into a pipe nobody reads")
	}
	_ = w.SetWriteDeadline(time.Time{})
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		writeWithin(w, "taskvisor: exit status 1\n", 50*time.Millisecond)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("writeWithin still blocked 10 s after its 50 ms bound")
	}
	// The write left blocked ends once the pipe is closed.
	w.Close()
	r.Close()

	var b strings.Builder
	writeWithin(&b, "line\n", time.Hour)
	if b.String() != "line\n" {
		t.Errorf("wrote %q to a writer that takes it, want %q", b.String(), "line\n")
	}
}
