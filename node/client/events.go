package client

import (
	"context"
	"errors"
	"io"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
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
	if _, err := s.Header(); err != nil {
		return false, err
	}
	if connected != nil {
		connected(true, nil)
	}
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = true
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
