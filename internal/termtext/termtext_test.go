package termtext

import "testing"

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

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 101: "101st", 111: "111th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
