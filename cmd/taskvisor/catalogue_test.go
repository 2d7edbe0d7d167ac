package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

// The embedded demo catalogue is the one the Go code used to build, keys 1-9
// with the same names and argv, plus the original demo's watchdog: stalled
// after 10s without progress, a warning only.
func TestDemoCatalogue(t *testing.T) {
	const exe = "/opt/taskvisor"
	worker := func(args ...string) []string {
		return append([]string{exe, "worker", "texture"}, args...)
	}
	want := actors.Catalogue{
		{Key: "1", Name: "quick", Description: "3 short steps, then done",
			Argv: worker("--steps", "3", "--step-time", "500ms")},
		{Key: "2", Name: "standard", Description: "7 steps of about a second each",
			Argv: worker("--steps", "7", "--step-time", "1s")},
		{Key: "3", Name: "long", Description: "20 steps of about a second each",
			Argv: worker("--steps", "20", "--step-time", "1s")},
		{Key: "4", Name: "stubborn", Description: "ignores SIGTERM and never ends: needs SIGKILL",
			Argv: worker("--steps", "0", "--step-time", "1s", "--ignore-term")},
		{Key: "5", Name: "hang", Description: "hangs at step 2 and reports nothing more",
			Argv: worker("--steps", "7", "--step-time", "1s", "--hang-at", "2")},
		{Key: "6", Name: "crash", Description: "crashes at step 3 with exit code 3",
			Argv: worker("--steps", "7", "--step-time", "1s", "--crash-at", "3")},
		{Key: "7", Name: "family", Description: "spawns 3 grandchildren that live as long as it does",
			Argv: worker("--steps", "7", "--step-time", "1s", "--children", "3")},
		{Key: "8", Name: "flood", Description: "floods its output at every step",
			Argv: worker("--steps", "5", "--step-time", "1s", "--flood")},
		{Key: "9", Name: "cpu", Description: "keeps a core busy for 10 steps",
			Argv: worker("--steps", "10", "--step-time", "1s", "--cpu")},
	}
	for i := range want {
		want[i].StallTimeout = 10 * time.Second
		want[i].StallAction = actors.StallWarn
	}
	cat, groups, err := loadCatalogue("", "", exe)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cat, want) {
		t.Errorf("demo catalogue:\n%+v\nwant:\n%+v", cat, want)
	}
	if len(groups) != 0 {
		t.Errorf("demo groups: %+v", groups)
	}
	if err := cat.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadCatalogueBothFlags(t *testing.T) {
	if _, _, err := loadCatalogue("a.toml", "Procfile", "/x"); err == nil || err.Error() != "--tasks and --procfile: give one of the two" {
		t.Errorf("both flags: %v", err)
	}
}
