package proctest

import (
	"os"
	"os/exec"
	"testing"
)

// NeedSystemdNotify returns the path of systemd-notify, the real sd_notify
// client, for a test that talks to it. Without it the test is skipped, with
// the reason, except in CI (CI set in the environment), which installs it
// (.ci/run): there the test fails, as a skip would hide that it never ran.
func NeedSystemdNotify(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("systemd-notify")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-notify is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("systemd-notify is not installed (apt-get install systemd): %v", err)
	}
	return path
}
