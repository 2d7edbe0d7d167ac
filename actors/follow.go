package actors

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// OutputLine is a line of a task's output as Follow delivers it.
type OutputLine struct {
	proc.Line
	// Skipped counts the lines the task wrote just before this one that the
	// reader never got: its output buffer (TaskSpec.OutputLines) had dropped
	// them before they were read.
	Skipped uint64
}

// outputOf asks the runtime supervisor for task id's output buffer; answered
// by outputBuffer.
type outputOf struct{ id int }

type outputBuffer struct {
	out *proc.Output
	err error
}

// OutputBufferOf returns task id's output buffer, which holds its last
// lines from one process to the next and lives as long as the runtime keeps
// the task. It is for a program that follows the output of many tasks with
// one goroutine: OutputBuffer.Notify tells it of each new line of a task,
// and OutputBuffer.Since reads them; Follow is the simpler way for one.
func (r *Runtime) OutputBufferOf(ctx context.Context, id int) (*OutputBuffer, error) {
	res, err := request[outputBuffer](ctx, r, outputOf{id: id})
	if err != nil {
		return nil, err
	}
	return res.out, res.err
}

// Follow returns a channel of task id's output, as tail -f would: first the
// lines its output buffer holds, then each line as the task writes it, from
// one process to the next when it is restarted. The channel is closed once
// the task has ended with no restart pending (as Wait says) and its last
// lines have been delivered, once ctx is done, or once the runtime has
// stopped. A reader slower than the task misses the lines its buffer drops
// before they are read, and OutputLine.Skipped says how many; the task is
// never slowed down. Cancel ctx to stop following early: that also ends the
// goroutine that feeds the channel.
func (r *Runtime) Follow(ctx context.Context, id int) (<-chan OutputLine, error) {
	res, err := request[outputBuffer](ctx, r, outputOf{id: id})
	if err != nil {
		return nil, err
	}
	if res.err != nil {
		return nil, res.err
	}
	// The task's end comes as the answer to a Wait, into a slot of our own,
	// so that one goroutine follows both the buffer and the task.
	ended, to := r.newReplySlot()
	r.system.Root.RequestWithCustomSender(r.pid, Wait{ID: id}, to)

	lines := make(chan OutputLine)
	go r.follow(ctx, id, res.out, lines, ended, to)
	return lines, nil
}

// follow feeds lines from out until the task has ended (ended receives the
// Wait's answer) and the rest is delivered, until ctx is done, or until the
// runtime has stopped.
func (r *Runtime) follow(ctx context.Context, id int, out *proc.Output, lines chan<- OutputLine, ended replySlot, to *actor.PID) {
	defer close(lines)
	over := false
	defer func() {
		r.system.ProcessRegistry.Remove(to)
		if !over {
			r.unwait(id, to)
		}
	}()
	var seen uint64
	for {
		fresh, total, skipped := out.Since(seen)
		for i, l := range fresh {
			ol := OutputLine{Line: l}
			if i == 0 {
				ol.Skipped = skipped
			}
			select {
			case lines <- ol:
			case <-ctx.Done():
				return
			}
		}
		seen = total
		if over {
			return // the task's last lines are out
		}
		select {
		case <-out.Wait(seen):
		case <-ended:
			over = true
		case <-r.done:
			over = true
		case <-ctx.Done():
			return
		}
	}
}

// String reads as the line's stream and text: "stderr: it broke".
func (l OutputLine) String() string {
	if l.Skipped > 0 {
		return fmt.Sprintf("(%d lines skipped) %s: %s", l.Skipped, l.Stream, l.Text)
	}
	return fmt.Sprintf("%s: %s", l.Stream, l.Text)
}
