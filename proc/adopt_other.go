//go:build !linux

package proc

// adoptedReaper is Linux only (it reads /proc); elsewhere the orphans of a
// run are reaped as its group settles.
type adoptedReaper struct{}

var adopted adoptedReaper

func (adoptedReaper) runStarted() {}

func (adoptedReaper) runEnded() {}

// OwnAllChildren declares that this program starts no child process of its
// own except through this package. On Linux the adopted-orphan reaper then
// reaps and kills the escapees that left their runs; elsewhere it does
// nothing.
func OwnAllChildren() {}
