package taskfile

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/taskfile.md's tables list the decoder's keys, in its order ([[task]],
// then backoff, then [[group]]), with the defaults that the decoder takes
// from the actors.Default* constants: neither can drift from the other.
func TestDocsTablesMatchTheDecoder(t *testing.T) {
	data, err := os.ReadFile("../../docs/taskfile.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| [^|]* \\| ([^|]*) \\|")
	var keys, defaults []string
	for _, line := range strings.Split(string(data), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			keys, defaults = append(keys, m[1]), append(defaults, strings.TrimSpace(m[2]))
		}
	}
	fields := slices.Concat(taskFields, backoffFields, groupFields)
	if want := keysOf(fields); !slices.Equal(keys, want) {
		t.Fatalf("the docs' tables list the keys\n%v\nthe decoder has\n%v", keys, want)
	}
	for i, f := range fields {
		if f.doc != "" && defaults[i] != f.doc {
			t.Errorf("docs: %s defaults to %s; the decoder's default is %s", f.key, defaults[i], f.doc)
		}
	}
}
