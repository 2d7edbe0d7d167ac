package notify

import "time"

// Message is one parsed sd_notify datagram.
type Message struct {
	Ready, Stopping, Watchdog, WatchdogTrigger, Barrier bool
	// Status is the STATUS= text; HasStatus says whether the field was present.
	Status    string
	HasStatus bool
	// Progress is set by X_PROGRESS=.
	Progress *Progress
	// ExtendTimeout is EXTEND_TIMEOUT_USEC=, 0 when absent.
	ExtendTimeout time.Duration
	Errno         int
	MainPID       int
	// Sender is the pid from the datagram's credentials.
	Sender int
}

// Progress is the value of X_PROGRESS.
type Progress struct {
	Step, Steps int
	Fraction    float64
}

// Stats counts a listener's datagrams.
type Stats struct {
	Received, Malformed, Foreign uint64
}
