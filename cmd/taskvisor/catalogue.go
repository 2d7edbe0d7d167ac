package main

import (
	"github.com/taskvisor/taskvisor/actors"
)

// demoCatalogue is the built-in catalogue for the keys 1-9: every template
// runs this binary's hidden `worker texture` subcommand with the behaviour
// the template demonstrates.
func demoCatalogue(exe string) actors.Catalogue {
	worker := func(args ...string) []string {
		return append([]string{exe, "worker", "texture"}, args...)
	}
	return actors.Catalogue{
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
}
