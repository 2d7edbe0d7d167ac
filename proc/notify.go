package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// notifySocket is what a Process needs of a *notify.Listener.
type notifySocket interface {
	Path() string
	Serve(trust func(pid int) bool, handle func(notify.Message))
	SetOnDrop(fn func())
	Flush()
	Close() error
	Stats() notify.Stats
}

// notifySeq makes socket names unique within this program; the pid makes them
// unique among programs sharing a directory.
var notifySeq atomic.Uint64

// notifyPace is how often a busy task socket is read (notify.SetPace): a
// task's datagrams that follow one another within it wait for it, at most.
// The runtime publishes progress at most once per 30 ms anyway.
const notifyPace = 30 * time.Millisecond

// listenNotify creates a fresh sd_notify socket in dir. Datagrams queue on it
// until Serve.
func listenNotify(dir string) (notifySocket, error) {
	path := filepath.Join(dir, fmt.Sprintf("%d-%d.sock", os.Getpid(), notifySeq.Add(1)))
	l, err := notify.Listen(path)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	l.SetPace(notifyPace)
	return l, nil
}

var _ notifySocket = (*notify.Listener)(nil)
