package probe

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// deadLetterThrottleInterval is the dead-letter throttle interval of the
// systems NewSystem makes. protoactor starts a goroutine on the first dead
// letter of each interval and keeps it for the whole interval (1 s by
// default), even after Shutdown; a short interval lets it end soon after
// the test, well before goleak gives up waiting for it.
const deadLetterThrottleInterval = 10 * time.Millisecond

// NewSystem returns a quiet actor system for one test: the library's log is
// discarded (by default protoactor logs to stderr), the dead-letter throttle
// is 10 ms instead of 1 s (its goroutine outlives Shutdown by up to that
// interval), and t.Cleanup shuts the system
// down.
//
// Shutdown in this protoactor version only marks the system stopped; it
// neither stops actors nor waits for them. Actors the test leaves running
// hold no goroutine while idle, but a test that wants a deterministic
// teardown stops them itself (Probe.Watch and Probe.ExpectTerminated, or
// Root.StopFuture).
func NewSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}),
		actor.WithDeadLetterThrottleInterval(deadLetterThrottleInterval),
	)
	t.Cleanup(system.Shutdown)
	return system
}
