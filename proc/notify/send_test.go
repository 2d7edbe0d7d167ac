package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSendWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	if err := Send("READY=1"); err != nil {
		t.Errorf("Send without NOTIFY_SOCKET = %v, want nil (as sd_notify)", err)
	}
}

func TestSendToErrors(t *testing.T) {
	for _, tt := range []struct{ path, state, err string }{
		{"relative.sock", "READY=1", "neither an absolute path nor abstract"},
		{"", "READY=1", "neither an absolute path nor abstract"},
		{"/nonexistent/notify.sock", "", "empty state"},
		{filepath.Join(os.TempDir(), "taskvisor-no-such-dir", "n.sock"), "READY=1", "no such file"},
	} {
		err := SendTo(tt.path, tt.state)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("SendTo(%q, %q) = %v, want an error containing %q", tt.path, tt.state, err, tt.err)
		}
	}
}
