package actors_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/proc"
)

// collect reads a Follow channel until it closes.
func collect(t *testing.T, lines <-chan actors.OutputLine) []actors.OutputLine {
	t.Helper()
	var got []actors.OutputLine
	deadline := time.After(wait)
	for {
		select {
		case l, open := <-lines:
			if !open {
				return got
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("the Follow channel did not close; got %d lines", len(got))
		}
	}
}

func lineTexts(lines []actors.OutputLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

// Follow delivers a task's lines as they come, across a restart by its
// policy, and closes once the task has given up and its last line is out.
func TestFollowDeliversEveryLineAcrossRestarts(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	// Each run says which it is. Whenever Follow comes, it starts with what
	// the buffer holds, so it gets both runs.
	spec := shell("counter", `n=$(ls `+dir+` | wc -l); touch `+dir+`/$n; echo "run $n"; echo "oops $n" >&2; exit 1`)
	spec.Restart, spec.MaxRestarts = actors.RestartOnFailure, 1
	spec.Backoff.Initial = time.Millisecond
	id := h.startSpec(spec)
	lines, err := h.rt.Follow(h.ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, lines)
	// stdout and stderr are separate pipes: within a run their order is not
	// fixed, so compare each stream.
	var out, errs []string
	for _, l := range got {
		if l.Skipped != 0 {
			t.Errorf("line %q: %d skipped", l.Text, l.Skipped)
		}
		if l.Stream == proc.Stderr {
			errs = append(errs, l.Text)
		} else {
			out = append(out, l.Text)
		}
	}
	if !slices.Equal(out, []string{"run 0", "run 1"}) || !slices.Equal(errs, []string{"oops 0", "oops 1"}) {
		t.Errorf("followed stdout %q, stderr %q; want both runs' lines", out, errs)
	}
	if ev, err := h.rt.Wait(h.ctx(), id); err != nil || ev.State != actors.StateGaveUp {
		t.Errorf("after the channel closed the task is %s, %v; want gave-up", ev.Outcome(), err)
	}
}

// A reader that comes late gets what the buffer still holds, and is told
// how many lines it missed.
func TestFollowSaysWhatWasSkipped(t *testing.T) {
	h := newHarness(t, nil)
	spec := shell("chatty", `i=1; while [ $i -le 100 ]; do echo $i; i=$((i+1)); done`)
	spec.OutputLines = 10
	id := h.startSpec(spec)
	if _, err := h.rt.Wait(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	lines, err := h.rt.Follow(h.ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, lines)
	var want []string
	for i := 91; i <= 100; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if !slices.Equal(lineTexts(got), want) || got[0].Skipped != 90 {
		t.Errorf("followed %q (first skipped %d), want lines 91 to 100 after 90 skipped", lineTexts(got), got[0].Skipped)
	}
}

// Follow ends with its context, and refuses an unknown task.
func TestFollowEndsWithItsContext(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("talker", `while :; do echo hi; sleep 0.01; done`))
	ctx, cancel := context.WithCancel(context.Background())
	lines, err := h.rt.Follow(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l := <-lines; l.Text != "hi" {
		t.Errorf("first line %q", l.Text)
	}
	cancel()
	collect(t, lines) // closes; TestMain checks that no goroutine is left
	if _, err := h.rt.Follow(h.ctx(), id+100); !errors.Is(err, actors.ErrUnknownTask) {
		t.Errorf("Follow of an unknown task: %v, want ErrUnknownTask", err)
	}
}

// A shutdown ends what is followed: the channel gives the task's last lines
// and closes.
func TestFollowEndsWithTheShutdown(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("polite", `trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.01; done`))
	lines, err := h.rt.Follow(h.ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if l := <-lines; l.Text != "hello" {
		t.Fatalf("first line %q", l.Text)
	}
	if _, err := h.rt.Shutdown(h.ctx()); err != nil {
		t.Fatal(err)
	}
	// The stop signal reaches the whole group: the shell's sleep may say
	// "Terminated" on stderr as well.
	if got := lineTexts(collect(t, lines)); !slices.Contains(got, "bye") {
		t.Errorf("after the shutdown the channel gave %q, want the task's last line, bye", got)
	}
}

// GetOutput with Last answers only the last lines, for a front end that
// shows a few; without it, all the task keeps.
func TestGetOutputLast(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("five", "for i in 1 2 3 4 5; do echo $i; done"))
	if _, err := h.rt.Wait(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	for last, want := range map[int][]string{2: {"4", "5"}, 0: {"1", "2", "3", "4", "5"}, 9: {"1", "2", "3", "4", "5"}} {
		h.p.Request(h.rt.PID(), actors.GetOutput{ID: id, Last: last})
		r := probe.FishForMsg(h.p, func(actors.OutputReply) bool { return true }, wait)
		var got []string
		for _, l := range r.Lines {
			got = append(got, l.Text)
		}
		if r.Err != nil || !slices.Equal(got, want) {
			t.Errorf("GetOutput Last %d: %q, %v; want %q", last, got, r.Err, want)
		}
	}
}
