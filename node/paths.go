package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultName is the name of a node started without one: `taskvisor serve`
// and plain `taskvisor` serve it, `taskvisor attach` and the control CLI
// reach it.
const DefaultName = "default"

// CheckName says what is wrong with a node name: it names a directory and a
// socket, so it is 1 to 64 of the letters, digits, '-', '_' and '.', and does
// not start with '.'.
func CheckName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("node name %q: 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("node name %q: %q is not allowed (letters, digits, '-', '_', '.')", name, r)
		}
	}
	return nil
}

// StateDir is where node name keeps its store, its log and the task logs:
// $XDG_STATE_HOME/taskvisor/NAME, else ~/.local/state/taskvisor/NAME.
func StateDir(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("state directory: %w (set XDG_STATE_HOME)", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "taskvisor", name), nil
}

// SocketDir is the directory of the nodes' sockets:
// $XDG_RUNTIME_DIR/taskvisor, else taskvisor-UID under the temp directory.
func SocketDir() string {
	if base := os.Getenv("XDG_RUNTIME_DIR"); base != "" && filepath.IsAbs(base) {
		return filepath.Join(base, "taskvisor")
	}
	return filepath.Join(os.TempDir(), "taskvisor-"+strconv.Itoa(os.Getuid()))
}

// SocketPath is the unix socket of node name, in SocketDir.
func SocketPath(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(SocketDir(), name+".sock"), nil
}

// ensurePrivateDir creates dir with mode 0700 if it is missing and checks
// that it is a directory of ours that nobody else can enter: in a shared
// temp directory, another user could have created it first.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("socket directory %s: not a directory", dir)
	}
	if err := checkOwner(dir, st); err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("socket directory %s: mode %v, and chmod 0700 failed: %w", dir, st.Mode().Perm(), err)
		}
	}
	return nil
}
