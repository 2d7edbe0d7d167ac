package tasktext

import (
	"strings"
	"syscall"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":              "plain text",
		`"quoted" and \back`:      `"quoted" and \back`,
		"tab\there":               `tab\there`,
		"\x1b[31mred\x1b[0m":      `\x1b[31mred\x1b[0m`,
		"bell\x07 del\x7f":        `bell\x07 del\x7f`,
		"bad \xff\xfe utf8":       `bad \xff\xfe utf8`,
		"rtl \u202e evil":         `rtl \u202e evil`,
		"zero\u200bwidth":         `zero\u200bwidth`,
		"c1 \u0085 next":          `c1 \u0085 next`,
		"lines\r\nend":            `lines\r\nend`,
		"ünïcødé 日本 e\u0301":      "ünïcødé 日本 e\u0301",
		"tag \U000e0041 plane 14": `tag \U000e0041 plane 14`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsPlain(t *testing.T) {
	for s, want := range map[string]bool{"": true, "abc ~!": true, "tab\t": false, "del\x7f": false, "é": false} {
		if got := IsPlain(s); got != want {
			t.Errorf("IsPlain(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	var b strings.Builder
	WriteSummary(&b, []actors.TaskEvent{
		{ID: 1, Name: "quick", State: actors.StateCompleted, ExitCode: 0},
		{ID: 2, Name: `say "hi"`, State: actors.StateKilled, ExitCode: -1, Signal: syscall.SIGKILL},
		{ID: 3, Name: "bad\x1b[2J", State: actors.StateFailed, ExitCode: -1, Reason: "exec: \"x\"\a"},
	})
	want := "[Task 1] quick ended: completed (exit code 0)\n" +
		"[Task 2] say \"hi\" ended: killed (SIGKILL)\n" +
		"[Task 3] bad\\x1b[2J ended: failed (exec: \"x\"\\x07)\n"
	if got := b.String(); got != want {
		t.Errorf("summary:\n%s\nwant\n%s", got, want)
	}
}
