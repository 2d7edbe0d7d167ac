package proctest

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"testing"
)

// SecondUser returns the uid and gid of the user name, which it creates
// (useradd, no home, no shell) if it does not exist, for a test that runs
// something as another user. It skips the test when not run as root, which
// alone may create and become another user (CI runs as root).
func SecondUser(t testing.TB, name string) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating and becoming a second user needs root (CI runs as root)")
	}
	u, err := user.Lookup(name)
	if err != nil {
		if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}
