package notify

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(10, 3)
	now := time.Unix(0, 0)
	for i := range 3 {
		if !b.take(now) {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	if b.take(now) {
		t.Fatal("a fourth take at once allowed: the burst is 3")
	}
	if !b.take(now.Add(100 * time.Millisecond)) {
		t.Fatal("one token should be back after 100ms at 10/s")
	}
	if b.take(now.Add(100 * time.Millisecond)) {
		t.Fatal("only one token came back")
	}
	if !b.take(now.Add(time.Hour)) || b.tokens != 2 {
		t.Fatalf("after an hour the bucket holds %v, want it full (3) less one", b.tokens)
	}
	off := newTokenBucket(0, 0)
	for range 100 {
		if !off.take(now) {
			t.Fatal("rate 0 limits")
		}
	}
}
