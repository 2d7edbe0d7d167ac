package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
)

// Backoff of StreamEvents between attempts to reconnect.
const (
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 5 * time.Second
)

// StreamEvents calls handle with each of the node's events after sequence
// number since, in order, until ctx ends (its error is returned) or handle
// returns an error (returned). When the stream breaks (the node restarted,
// the connection dropped) it reconnects with backoff, 100 ms doubling up to
// 5 s, and resumes after the last event handled, so that handle sees every
// event the node still held exactly once; a Gap event says which the node no
// longer held. connected, if set, is called with true each time the stream
// is up and with false and the reason each time it broke.
func (c *Client) StreamEvents(ctx context.Context, since uint64, handle func(*pb.Event) error, connected func(up bool, err error)) error {
	delay := reconnectFirst
	for {
		got, err := c.streamOnce(ctx, &since, handle, connected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if connected != nil {
			if err == nil {
				err = errors.New("the node ended the stream")
			}
			connected(false, AsError(err))
		}
		if got {
			delay = reconnectFirst
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, reconnectMax)
	}
}

// handlerError carries handle's error out of streamOnce.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// quietBeats is how many of its heartbeats a stream may miss before it is
// taken as lost. The node says its heartbeat in the stream's header
// (node.HeartbeatHeader); a stream of a node that says none is left to
// gRPC's keepalive (10 s, then 5 s for the answer).
const quietBeats = 3

// streamOnce runs one stream; got says it received something.
func (c *Client) streamOnce(ctx context.Context, since *uint64, handle func(*pb.Event) error, connected func(bool, error)) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Events(ctx, &pb.EventsRequest{Since: *since})
	if err != nil {
		return false, err
	}
	// The stream is up once the node has answered: its headers come with
	// the first message, or at once when there is nothing to replay.
	md, err := s.Header()
	if err != nil {
		return false, err
	}
	c.heard()
	if connected != nil {
		connected(true, nil)
	}
	var quiet atomic.Bool
	watchdog := time.AfterFunc(time.Hour, func() { quiet.Store(true); cancel() })
	watchdog.Stop()
	defer watchdog.Stop()
	var limit time.Duration
	if v := md.Get(node.HeartbeatHeader); len(v) == 1 {
		if beat, err := time.ParseDuration(v[0]); err == nil && beat > 0 {
			limit = quietBeats * beat
			watchdog.Reset(limit)
		}
	}
	for {
		m, err := s.Recv()
		if quiet.Load() {
			return got, fmt.Errorf("no word from the node for %s (%d heartbeats)", limit, quietBeats)
		}
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = true
		c.heard()
		if limit > 0 {
			watchdog.Reset(limit)
		}
		for _, ev := range m.Events {
			if ev.GetSeq() <= *since {
				continue // never twice
			}
			if err := handle(ev); err != nil {
				return got, handlerError{err}
			}
			*since = ev.GetSeq()
		}
	}
}
