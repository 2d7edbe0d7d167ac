//go:build !linux

package proc

import (
	"errors"
	"fmt"
)

// BecomeSubreaper is supported on Linux only.
func BecomeSubreaper() error {
	return fmt.Errorf("child subreaper: %w", errors.ErrUnsupported)
}
