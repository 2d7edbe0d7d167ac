package notify

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv makes the test binary, re-executed by a test, act as a task that
// sends one datagram from its own process and exits.
const helperEnv = "TASKVISOR_NOTIFY_TEST_SEND"

// Every Listener test must stop its goroutine: Close waits for it.
func TestMain(m *testing.M) {
	if state, ok := os.LookupEnv(helperEnv); ok {
		if err := Send(state); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
