package notify

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Message
	}{
		{"READY=1", Message{Ready: true}},
		{"READY=1\n", Message{Ready: true}},
		{"READY=1\nSTATUS=hello world\n", Message{Ready: true, Status: "hello world", HasStatus: true}},
		{"STATUS=", Message{HasStatus: true}},
		{"STATUS=first\nSTATUS=second", Message{Status: "second", HasStatus: true}},
		{"STATUS=a=b", Message{Status: "a=b", HasStatus: true}},
		{"STATUS=Grüße ✓", Message{Status: "Grüße ✓", HasStatus: true}},
		{"WATCHDOG=1", Message{Watchdog: true}},
		{"WATCHDOG=trigger", Message{WatchdogTrigger: true}},
		{"STOPPING=1", Message{Stopping: true}},
		{"BARRIER=1", Message{Barrier: true}},
		{"EXTEND_TIMEOUT_USEC=2500000", Message{ExtendTimeout: 2500 * time.Millisecond}},
		{"EXTEND_TIMEOUT_USEC=0", Message{}},
		{"ERRNO=0", Message{HasErrno: true}},
		{"ERRNO=2", Message{Errno: 2, HasErrno: true}},
		{"MAINPID=4242", Message{MainPID: 4242}},
		{"X_PROGRESS=3/7", Message{Progress: &Progress{Step: 3, Steps: 7, Fraction: 3.0 / 7}}},
		{"X_PROGRESS=0/1", Message{Progress: &Progress{Step: 0, Steps: 1, Fraction: 0}}},
		{"X_PROGRESS=7/7", Message{Progress: &Progress{Step: 7, Steps: 7, Fraction: 1}}},
		{"X_PROGRESS=42%", Message{Progress: &Progress{Fraction: 0.42}}},
		{"X_PROGRESS=0%", Message{Progress: &Progress{Fraction: 0}}},
		{"X_PROGRESS=100%", Message{Progress: &Progress{Fraction: 1}}},
		{"X_PROGRESS=12.5%", Message{Progress: &Progress{Fraction: 0.125}}},
		{"X_PROGRESS=0.42", Message{Progress: &Progress{Fraction: 0.42}}},
		{"X_PROGRESS=.5", Message{Progress: &Progress{Fraction: 0.5}}},
		{"X_PROGRESS=1", Message{Progress: &Progress{Fraction: 1}}},
		{"X_PROGRESS=1.", Message{Progress: &Progress{Fraction: 1}}},
		{"X_PROGRESS=1/4\nX_PROGRESS=2/4", Message{Progress: &Progress{Step: 2, Steps: 4, Fraction: 0.5}}},
		// Unknown keys are ignored, as systemd ignores them.
		{"FDSTORE=1\nREADY=1\nready=2\nX_OTHER=whatever", Message{Ready: true}},
		{"FDNAME=", Message{}},
		// Empty lines are skipped, as systemd coalesces newlines.
		{"\nREADY=1\n\n\nWATCHDOG=1\n\n", Message{Ready: true, Watchdog: true}},
		// What systemd-notify --ready --status=hello sends.
		{"READY=1\nSTATUS=hello\nMAINPID=17\n", Message{Ready: true, Status: "hello", HasStatus: true, MainPID: 17}},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !equal(got, tt.want) {
			t.Errorf("Parse(%q) = %+v %v, want %+v %v", tt.in, got, got.Progress, tt.want, tt.want.Progress)
		}
	}
}

func equal(a, b Message) bool {
	if (a.Progress == nil) != (b.Progress == nil) {
		return false
	}
	if a.Progress != nil && *a.Progress != *b.Progress {
		return false
	}
	a.Progress, b.Progress = nil, nil
	return a == b
}

func TestParseMalformed(t *testing.T) {
	tests := []struct{ in, err string }{
		{"", `empty datagram`},
		{"\n\n", `empty datagram`},
		{"READY=1\nSTA\x00TUS=x", `line 2 "STA\x00TUS=x": NUL byte`},
		{"STATUS=\xff\xfe", `line 1 "STATUS=\xff\xfe": invalid UTF-8`},
		{"READY=1\nREADY", `line 2 "READY": no '='`},
		{"=1", `line 1 "=1": empty key`},
		{"READY=2", `line 1 "READY=2": READY must be 1`},
		{"READY=", `line 1 "READY=": READY must be 1`},
		{"READY=1 ", `line 1 "READY=1 ": READY must be 1`},
		{"STOPPING=true", `line 1 "STOPPING=true": STOPPING must be 1`},
		{"BARRIER=0", `line 1 "BARRIER=0": BARRIER must be 1`},
		{"WATCHDOG=maybe", `line 1 "WATCHDOG=maybe": WATCHDOG must be 1 or trigger`},
		{"EXTEND_TIMEOUT_USEC=-1", `line 1 "EXTEND_TIMEOUT_USEC=-1": "-1" is not a decimal number`},
		{"EXTEND_TIMEOUT_USEC=1e6", `line 1 "EXTEND_TIMEOUT_USEC=1e6": "1e6" is not a decimal number`},
		{"EXTEND_TIMEOUT_USEC=", `line 1 "EXTEND_TIMEOUT_USEC=": "" is not a decimal number`},
		{"EXTEND_TIMEOUT_USEC=9223372036854776", `line 1 "EXTEND_TIMEOUT_USEC=9223372036854776": 9223372036854776 microseconds out of range`},
		{"EXTEND_TIMEOUT_USEC=99999999999999999999", `line 1 "EXTEND_TIMEOUT_USEC=99999999999999999999": 99999999999999999999 out of range`},
		{"ERRNO=+2", `line 1 "ERRNO=+2": "+2" is not a decimal number`},
		{"ERRNO=2147483648", `line 1 "ERRNO=2147483648": 2147483648 out of range`},
		{"MAINPID=0", `line 1 "MAINPID=0": MAINPID must be positive`},
		{"MAINPID=abc", `line 1 "MAINPID=abc": "abc" is not a decimal number`},
		{"READY=1\nX_PROGRESS=9/7", `line 2 "X_PROGRESS=9/7": step 9 beyond 7 steps`},
		{"X_PROGRESS=3/0", `line 1 "X_PROGRESS=3/0": zero steps`},
		{"X_PROGRESS=0/0", `line 1 "X_PROGRESS=0/0": zero steps`},
		{"X_PROGRESS=-1/7", `line 1 "X_PROGRESS=-1/7": step: "-1" is not a decimal number`},
		{"X_PROGRESS=1/", `line 1 "X_PROGRESS=1/": steps: "" is not a decimal number`},
		{"X_PROGRESS=1/2/3", `line 1 "X_PROGRESS=1/2/3": steps: "2/3" is not a decimal number`},
		{"X_PROGRESS=101%", `line 1 "X_PROGRESS=101%": 101% beyond 100%`},
		{"X_PROGRESS=-5%", `line 1 "X_PROGRESS=-5%": "-5%" is not a percentage`},
		{"X_PROGRESS=%", `line 1 "X_PROGRESS=%": "%" is not a percentage`},
		{"X_PROGRESS=1.5", `line 1 "X_PROGRESS=1.5": fraction 1.5 beyond 1`},
		{"X_PROGRESS=-0.1", `line 1 "X_PROGRESS=-0.1": "-0.1" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=NaN", `line 1 "X_PROGRESS=NaN": "NaN" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=inf", `line 1 "X_PROGRESS=inf": "inf" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=0x1p-1", `line 1 "X_PROGRESS=0x1p-1": "0x1p-1" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=5e-1", `line 1 "X_PROGRESS=5e-1": "5e-1" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=.", `line 1 "X_PROGRESS=.": "." is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS=", `line 1 "X_PROGRESS=": "" is not a fraction, a percentage or step/steps`},
		{"X_PROGRESS= 0.5", `line 1 "X_PROGRESS= 0.5": " 0.5" is not a fraction, a percentage or step/steps`},
		// A long line is quoted only in part.
		{"STATUS=ok\nX_PROGRESS=" + strings.Repeat("9", 100), `line 2 "X_PROGRESS=` + strings.Repeat("9", 53) + `"...: fraction ` + strings.Repeat("9", 32) + `... beyond 1`},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error %s", tt.in, m, tt.err)
			continue
		}
		if err.Error() != tt.err {
			t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, err, tt.err)
		}
		if !equal(m, Message{}) {
			t.Errorf("Parse(%q) returned %+v with its error, want the zero Message", tt.in, m)
		}
	}
}

func TestMessageString(t *testing.T) {
	for _, in := range []string{
		"READY=1\nSTATUS=hello\nX_PROGRESS=3/7\nMAINPID=12",
		"STOPPING=1\nWATCHDOG=1\nWATCHDOG=trigger\nSTATUS=\nX_PROGRESS=0.25\nEXTEND_TIMEOUT_USEC=1500\nERRNO=0\nBARRIER=1",
	} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse([]byte(m.String()))
		if err != nil || !equal(again, m) {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v; want %+v", in, m.String(), again, err, m)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	// A typical datagram of a worker reporting as it goes.
	datagram := []byte("X_PROGRESS=3/7\nSTATUS=analysing tile 3 of 7\nWATCHDOG=1\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(datagram)))
	for b.Loop() {
		if _, err := Parse(datagram); err != nil {
			b.Fatal(err)
		}
	}
}
