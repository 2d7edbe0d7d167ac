package proc

import (
	"strings"
	"testing"
)

// The subreaper is in force only where this program is one; where it is
// not, doctor says it is available.
func TestDiagnoseSubreaper(t *testing.T) {
	subreaper := func() Mechanism {
		for _, m := range Diagnose() {
			if m.Name == "subreaper" {
				return m
			}
		}
		t.Fatal("no subreaper in Diagnose")
		return Mechanism{}
	}
	setSubreaperT(t, false)
	if m := subreaper(); m.InForce || !strings.Contains(m.Detail, "available") {
		t.Errorf("not a subreaper: %+v, want not in force, available", m)
	}
	setSubreaperT(t, true)
	if m := subreaper(); !m.InForce {
		t.Errorf("a subreaper: %+v, want in force", m)
	}
}
