//go:build !linux

package proc

func newTaskIO() (taskIO, error) {
	g, err := newGoroutineIO()
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return g, nil
}

// watchExit calls onExit on a goroutine of its own once w's child has
// exited, unreaped.
func watchExit(w *waiter, onExit func()) {
	go func() {
		w.wait()
		onExit()
	}()
}
