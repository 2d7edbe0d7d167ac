package ui

import (
	"fmt"
	"strconv"
	"time"
)

// shortDuration formats d for a narrow column: "0.4s", "12s", "3m05s",
// "2h07m", "3d04h". Negative durations count as zero.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// wholeDuration is shortDuration to the second, for run times that tick
// once a second: "0s", "12s", "3m05s".
func wholeDuration(d time.Duration) string {
	if d < 10*time.Second {
		if d < 0 {
			d = 0
		}
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return shortDuration(d)
}

// countdown formats the time left until a deadline, rounded up to the tenth
// of a second so that it never shows 0.0s while time is left.
func countdown(deadline, now time.Time) string {
	left := deadline.Sub(now)
	if left < 0 {
		left = 0
	}
	left = (left + 99*time.Millisecond).Truncate(100 * time.Millisecond)
	return shortDuration(left)
}

// cpuText writes CPU in cores as a percentage of one core: "0%", "97%",
// "250%".
func cpuText(cores float64) string {
	return strconv.Itoa(int(cores*100+0.5)) + "%"
}
