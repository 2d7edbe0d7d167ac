package notify

import (
	"math"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// keeps the promises Message and Progress document. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if m.String() != "" {
				t.Fatalf("Parse(%q) returned %v with its error %v", b, m, err)
			}
			return
		}
		if !utf8.Valid(b) {
			t.Fatalf("Parse accepted invalid UTF-8 %q", b)
		}
		for _, c := range b {
			if c == 0 {
				t.Fatalf("Parse accepted a NUL byte in %q", b)
			}
		}
		if m.Sender != 0 {
			t.Fatalf("Parse(%q) set Sender", b)
		}
		if p := m.Progress; p != nil {
			if math.IsNaN(p.Fraction) || p.Fraction < 0 || p.Fraction > 1 {
				t.Fatalf("Parse(%q): fraction %v outside [0,1]", b, p.Fraction)
			}
			if p.Step < 0 || p.Steps < 0 || p.Step > p.Steps {
				t.Fatalf("Parse(%q): step %d of %d", b, p.Step, p.Steps)
			}
			if p.Steps > 0 && p.Fraction != float64(p.Step)/float64(p.Steps) {
				t.Fatalf("Parse(%q): fraction %v is not %d/%d", b, p.Fraction, p.Step, p.Steps)
			}
		}
		if m.ExtendTimeout < 0 || m.Errno < 0 || m.MainPID < 0 {
			t.Fatalf("Parse(%q) = negative values %+v", b, m)
		}
		// What Parse accepts, rendered back, parses to the same message.
		if s := m.String(); s != "" {
			again, err := Parse([]byte(s))
			if err != nil || !equal(again, m) {
				t.Fatalf("Parse(%q) = %q, which parses to %q, %v", b, s, again.String(), err)
			}
		}
	})
}
