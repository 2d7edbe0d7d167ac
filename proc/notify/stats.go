package notify

// Stats counts a Listener's datagrams. Every datagram read from the socket
// is Received and then ends up in exactly one of the other four counters,
// so Received == Delivered + Malformed + Foreign + Throttled (Delivered +
// Dropped) once a batch is done.
type Stats struct {
	// Received counts every datagram read from the socket.
	Received uint64
	// Malformed counts datagrams from a trusted sender that were dropped
	// because Parse rejected them, or because the kernel truncated them or
	// their control data (too large, or too many descriptors).
	Malformed uint64
	// Foreign counts datagrams dropped because they carried no credentials
	// or their sender failed the trust check. Their content is not parsed,
	// so that an outsider cannot move the Malformed count.
	Foreign uint64
	// Delivered counts datagrams passed to the handler.
	Delivered uint64
	// Throttled counts well-formed datagrams from a trusted sender that were
	// dropped because the sender went over the rate limit (DefaultRate
	// datagrams a second, bursts of DefaultBurst): the handler hands them to
	// an unbounded mailbox, which a flood must not fill.
	Throttled uint64
}

// Dropped is every datagram that was not delivered.
func (s Stats) Dropped() uint64 { return s.Malformed + s.Foreign + s.Throttled }
