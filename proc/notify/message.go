package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one parsed sd_notify datagram. A field whose key was absent
// keeps its zero value; the Has* flags exist where zero is also a value a
// sender can mean.
type Message struct {
	// Ready is READY=1: the task has finished starting up.
	Ready bool
	// Stopping is STOPPING=1: the task has begun to shut down on its own.
	Stopping bool
	// Watchdog is WATCHDOG=1: a keep-alive that resets the stall timer.
	Watchdog bool
	// WatchdogTrigger is WATCHDOG=trigger: the task asks to be treated as
	// stalled right now.
	WatchdogTrigger bool
	// Barrier is BARRIER=1. The sender waits until the descriptor it passed
	// along is closed; the Listener has already closed it, so a handler needs
	// to do nothing about it.
	Barrier bool

	// Status is the STATUS= text, possibly empty (which clears a status);
	// HasStatus says whether the field was present. When a datagram repeats
	// STATUS=, the last one wins.
	Status    string
	HasStatus bool // STATUS= was present

	// Progress is set by X_PROGRESS=, nil when absent.
	Progress *Progress

	// ExtendTimeout is EXTEND_TIMEOUT_USEC=, 0 when absent: the task asks for
	// this much more time in its current phase.
	ExtendTimeout time.Duration

	// Errno is ERRNO=, an errno value the task reports as the reason it is
	// failing; HasErrno says whether the field was present, since ERRNO=0 is
	// valid (it clears a reported error).
	Errno    int
	HasErrno bool // ERRNO= was present

	// MainPID is MAINPID=, 0 when absent (a valid MAINPID is never 0).
	MainPID int

	// Sender is the pid taken from the datagram's credentials. Parse leaves it
	// 0; the Listener fills it in.
	Sender int
}

// Progress is the value of X_PROGRESS=, taskvisor's extension to sd_notify.
// It comes in three forms: "3/7" (step 3 of 7), "42%" and "0.42".
type Progress struct {
	// Step and Steps are set by the "3/7" form, with 0 <= Step <= Steps and
	// Steps > 0; both are 0 for the other forms, which carry only a fraction.
	Step, Steps int
	// Fraction is the completed share, within [0, 1]; for "3/7" it is 3/7.
	Fraction float64
}

// maxQuoted bounds how much of an offending line an error repeats, so that a
// 64 KiB datagram does not become a 64 KiB log line.
const maxQuoted = 64

// show shortens a value that an error repeats, for the reason of maxQuoted.
func show(v []byte) string {
	if len(v) > maxQuoted/2 {
		return string(v[:maxQuoted/2]) + "..."
	}
	return string(v)
}

// lineError names the offending line (1-based) and what is wrong with it.
func lineError(n int, line []byte, format string, args ...any) error {
	q := line
	suffix := ""
	if len(q) > maxQuoted {
		q, suffix = q[:maxQuoted], "..."
	}
	return fmt.Errorf("line %d %q%s: %s", n, q, suffix, fmt.Sprintf(format, args...))
}

// Parse parses one sd_notify datagram: newline-separated KEY=VALUE
// assignments, as systemd reads them. A trailing newline, and empty lines in
// general, are allowed (systemd skips them too).
//
// Keys that Message has no field for are ignored, as systemd ignores them, so
// a task written for systemd (FDSTORE=1, NOTIFYACCESS=..., ...) works
// unchanged. Everything else that is not well-formed is an error that names
// the offending line: an empty datagram, a NUL byte, invalid UTF-8, a line
// without '=', or a known key with an invalid value (READY=2, WATCHDOG=maybe,
// a malformed number or progress). systemd merely ignores such values; we
// reject the datagram so that a broken task shows up in the counters instead
// of silently never being ready.
//
// When a key is repeated the last assignment wins.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) == 0 {
		return m, errors.New("empty datagram")
	}
	assignments := 0
	for n := 1; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return Message{}, lineError(n, line, "NUL byte")
		}
		if !utf8.Valid(line) {
			return Message{}, lineError(n, line, "invalid UTF-8")
		}
		key, value, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			return Message{}, lineError(n, line, "no '='")
		}
		if len(key) == 0 {
			return Message{}, lineError(n, line, "empty key")
		}
		assignments++
		if err := m.set(key, value); err != nil {
			return Message{}, lineError(n, line, "%v", err)
		}
	}
	if assignments == 0 {
		return Message{}, errors.New("empty datagram")
	}
	return m, nil
}

// set applies one assignment. Only STATUS keeps its value as a string; keys
// and other values are compared as bytes (a switch on string(b) does not
// allocate), since a task may send several datagrams a second.
func (m *Message) set(key, value []byte) error {
	switch string(key) {
	case "READY":
		return flag(&m.Ready, "READY", value)
	case "STOPPING":
		return flag(&m.Stopping, "STOPPING", value)
	case "BARRIER":
		return flag(&m.Barrier, "BARRIER", value)
	case "WATCHDOG":
		switch string(value) {
		case "1":
			m.Watchdog = true
		case "trigger":
			m.WatchdogTrigger = true
		default:
			return errors.New("WATCHDOG must be 1 or trigger")
		}
	case "STATUS":
		m.Status, m.HasStatus = string(value), true
	case "EXTEND_TIMEOUT_USEC":
		usec, err := parseUint(value, 64)
		if err != nil {
			return err
		}
		if usec > uint64(1<<63-1)/uint64(time.Microsecond) {
			return fmt.Errorf("%d microseconds out of range", usec)
		}
		m.ExtendTimeout = time.Duration(usec) * time.Microsecond
	case "ERRNO":
		// errno is a C int: 31 bits of non-negative value.
		e, err := parseUint(value, 31)
		if err != nil {
			return err
		}
		m.Errno, m.HasErrno = int(e), true
	case "MAINPID":
		// pid_t is a C int as well; 0 would mean "no process".
		pid, err := parseUint(value, 31)
		if err != nil {
			return err
		}
		if pid == 0 {
			return errors.New("MAINPID must be positive")
		}
		m.MainPID = int(pid)
	case "X_PROGRESS":
		p, err := parseProgress(value)
		if err != nil {
			return err
		}
		m.Progress = &p
	}
	return nil
}

// flag accepts only "1", as systemd does for its boolean notifications.
func flag(dst *bool, key string, value []byte) error {
	if string(value) != "1" {
		return fmt.Errorf("%s must be 1", key)
	}
	*dst = true
	return nil
}

// parseUint accepts plain decimal digits only. strconv alone would also take
// a sign, and for floats "inf", "nan", hex and exponents: none of them is a
// count a task means to send.
func parseUint(v []byte, bits int) (uint64, error) {
	if !isDigits(v) {
		return 0, fmt.Errorf("%q is not a decimal number", show(v))
	}
	n, err := strconv.ParseUint(string(v), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s out of range", show(v))
	}
	return n, nil
}

func isDigits(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseDecimal accepts "12", "12.5", "12." and ".5", nothing else.
func parseDecimal(v []byte) (float64, bool) {
	whole, frac, _ := bytes.Cut(v, []byte{'.'})
	if len(whole)+len(frac) == 0 ||
		len(whole) > 0 && !isDigits(whole) ||
		len(frac) > 0 && !isDigits(frac) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// parseProgress reads the three forms of X_PROGRESS.
func parseProgress(v []byte) (Progress, error) {
	if s, t, ok := bytes.Cut(v, []byte{'/'}); ok {
		step, err := parseUint(s, 62)
		if err != nil {
			return Progress{}, fmt.Errorf("step: %v", err)
		}
		steps, err := parseUint(t, 62)
		if err != nil {
			return Progress{}, fmt.Errorf("steps: %v", err)
		}
		if steps == 0 {
			return Progress{}, errors.New("zero steps")
		}
		if step > steps {
			return Progress{}, fmt.Errorf("step %d beyond %d steps", step, steps)
		}
		// float64 conversion is monotonic, so step <= steps keeps the
		// quotient within [0, 1] even where it rounds.
		return Progress{Step: int(step), Steps: int(steps), Fraction: float64(step) / float64(steps)}, nil
	}
	if p, ok := bytes.CutSuffix(v, []byte{'%'}); ok {
		f, ok := parseDecimal(p)
		if !ok {
			return Progress{}, fmt.Errorf("%q is not a percentage", show(v))
		}
		if f > 100 {
			return Progress{}, fmt.Errorf("%s beyond 100%%", show(v))
		}
		return Progress{Fraction: f / 100}, nil
	}
	f, ok := parseDecimal(v)
	if !ok {
		return Progress{}, fmt.Errorf("%q is not a fraction, a percentage or step/steps", show(v))
	}
	if f > 1 {
		return Progress{}, fmt.Errorf("fraction %s beyond 1", show(v))
	}
	return Progress{Fraction: f}, nil
}

// String renders the message as the datagram that would produce it (without
// Sender), in a fixed key order; handy in logs and tests.
func (m Message) String() string {
	var b strings.Builder
	add := func(kv string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(kv)
	}
	if m.Ready {
		add("READY=1")
	}
	if m.Stopping {
		add("STOPPING=1")
	}
	if m.Watchdog {
		add("WATCHDOG=1")
	}
	if m.WatchdogTrigger {
		add("WATCHDOG=trigger")
	}
	if m.HasStatus {
		add("STATUS=" + m.Status)
	}
	if m.Progress != nil {
		add("X_PROGRESS=" + m.Progress.String())
	}
	if m.ExtendTimeout != 0 {
		add("EXTEND_TIMEOUT_USEC=" + strconv.FormatInt(m.ExtendTimeout.Microseconds(), 10))
	}
	if m.HasErrno {
		add("ERRNO=" + strconv.Itoa(m.Errno))
	}
	if m.MainPID != 0 {
		add("MAINPID=" + strconv.Itoa(m.MainPID))
	}
	if m.Barrier {
		add("BARRIER=1")
	}
	return b.String()
}

// String renders p in the X_PROGRESS form it came from: "3/7" when it has
// steps, else the fraction.
func (p Progress) String() string {
	if p.Steps > 0 {
		return strconv.Itoa(p.Step) + "/" + strconv.Itoa(p.Steps)
	}
	return strconv.FormatFloat(p.Fraction, 'f', -1, 64)
}
