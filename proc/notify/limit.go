package notify

import "time"

// DefaultRate and DefaultBurst bound how many datagrams a Listener delivers:
// on average DefaultRate a second, up to DefaultBurst at once. A task that
// reports progress even a hundred times a second stays far below; one that
// floods its socket has the excess dropped and counted (Stats.Throttled)
// instead of queued without bound in its actor's mailbox.
const (
	DefaultRate  = 1000
	DefaultBurst = 1000
)

// tokenBucket is a rate limit: each delivery takes a token; tokens come back
// at rate a second, up to burst.
type tokenBucket struct {
	rate   float64 // tokens a second; <= 0: no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take reports whether a token was available at now, and takes it.
func (b *tokenBucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
