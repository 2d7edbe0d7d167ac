//go:build !linux

package notify

import (
	"errors"
	"time"
)

// errUnsupported reads as the package's message and matches
// errors.ErrUnsupported, so that callers can test for it portably.
type errUnsupported struct{}

func (errUnsupported) Error() string { return "sd_notify: supported on Linux only" }
func (errUnsupported) Unwrap() error { return errors.ErrUnsupported }

// Supported reports whether Listen can work on this system: not off Linux.
const Supported = false

// Listener receives sd_notify datagrams; off Linux there is no
// SCM_CREDENTIALS to check senders by, so none can be created.
type Listener struct{}

// Listen returns an error matching errors.ErrUnsupported: the sender checks
// rely on Linux's SO_PASSCRED.
func Listen(path string) (*Listener, error) { return nil, errUnsupported{} }

// Path returns "": no Listener exists off Linux.
func (l *Listener) Path() string { return "" }

// Serve does nothing off Linux.
func (l *Listener) Serve(trust func(pid int) bool, handle func(Message)) {}

// ServeErr returns nil off Linux.
func (l *Listener) ServeErr() error { return nil }

// Flush does nothing off Linux.
func (l *Listener) Flush() {}

// Close does nothing off Linux.
func (l *Listener) Close() error { return nil }

// Stats returns zero counters off Linux.
func (l *Listener) Stats() Stats { return Stats{} }

// SetLimit does nothing off Linux.
func (l *Listener) SetLimit(rate float64, burst int) {}

// SetOnDrop does nothing: there is no Listener.
func (l *Listener) SetOnDrop(fn func()) {}

// SetPace does nothing: there is no Listener.
func (l *Listener) SetPace(interval time.Duration) {}
