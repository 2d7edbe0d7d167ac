// Command taskvisor-host shows how a program embeds taskvisor inside its own
// protoactor actor system, next to actors of its own.
//
// It demonstrates:
//   - one actor system shared by the host and taskvisor (taskvisor.New with
//     Config.System), so that host actors and taskvisor talk by messages;
//   - a host actor (the operator) that drives taskvisor purely by messages:
//     it follows the tasks' events in its mailbox (Runtime.SubscribePID) and
//     sends commands to the runtime supervisor (Runtime.PID): Start, Kill,
//     Restart;
//   - the host's own work (the heartbeat actor) going on undisturbed while
//     tasks fail, stall, are killed and restarted;
//   - a clean shutdown: Runtime.Shutdown stops every task, and the host's
//     actor system keeps running until the host stops it.
//
// Run it with
//
//	go run ./cmd/taskvisor-host               # runs 5s, then shuts down
//	go run ./cmd/taskvisor-host -duration 30s # or until Ctrl-C
//
// Lines start with who speaks: [host] is main and the heartbeat, [operator]
// the operator's decisions, [taskvisor] the events the operator receives.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor"
	"github.com/taskvisor/taskvisor/actors"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long to run before shutting down (Ctrl-C ends it sooner)")
	grace := flag.Duration("grace", 10*time.Second, "how long the shutdown may take before the tasks left get SIGKILL")
	flag.Parse()
	if err := run(*duration, *grace); err != nil {
		fmt.Fprintln(os.Stderr, "taskvisor-host:", err)
		os.Exit(1)
	}
}

// out is the program's one stdout: a log.Logger writes each line whole, so the
// lines of main and of the actors never mix.
var out = log.New(os.Stdout, "", 0)

func run(duration, grace time.Duration) error {
	// The signals are caught from the start, so that a Ctrl-C during the run
	// gets a clean shutdown.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	// 1. The host's actor system. actors.NewSystem makes it quiet: protoactor
	// logs to stderr by default, here its log is discarded.
	system := actors.NewSystem(nil)
	defer system.Shutdown() // last of all: the host ends its own system

	// 2. taskvisor in that system. Subreaper: processes orphaned by a task
	// come back to this program, and taskvisor reaps them (this program has
	// no other children).
	rt, err := taskvisor.New(taskvisor.Config{System: system, Name: "taskvisor", Subreaper: true})
	if err != nil {
		return err
	}
	// On an early return, no task outlives the program. Shutdown runs once:
	// later calls return the first one's result.
	defer rt.Shutdown(context.Background())

	// 3. The host's own actors.
	heartbeatPID, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &heartbeat{} }), "heartbeat")
	if err != nil {
		return err
	}
	operatorPID, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newOperator(rt) }), "operator")
	if err != nil {
		return err
	}

	// 4. Main pings the heartbeat every second while the operator and
	// taskvisor get on with the tasks.
	out.Printf("[host] running for %s (Ctrl-C ends sooner); the heartbeat ticks every %s", duration, tickEvery)
	every := time.NewTicker(time.Second)
	defer every.Stop()
	end := time.NewTimer(duration)
	defer end.Stop()
	sent, answered := 0, 0
run:
	for {
		select {
		case <-every.C:
			sent++
			if n, err := askHeartbeat(system, heartbeatPID); err != nil {
				out.Printf("[host] the heartbeat did not answer ping %d: %v", sent, err)
			} else {
				answered++
				out.Printf("[host] heartbeat: %d ticks", n)
			}
		case <-end.C:
			out.Printf("[host] %s are up", duration)
			break run
		case sig := <-sigs:
			out.Printf("[host] signal: %v", sig)
			break run
		}
	}
	out.Printf("[host] the heartbeat answered %d of %d pings while taskvisor ran", answered, sent)
	// From here a second Ctrl-C ends the program at once; taskvisor's guard
	// process still kills the tasks.
	signal.Stop(sigs)

	// 5. Shut taskvisor down: each task gets its stop signal, then SIGKILL
	// if it has not ended when its grace (or ours) runs out.
	out.Printf("[host] shutting taskvisor down")
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	final, err := rt.Shutdown(ctx)
	// The operator's mailbox still holds the last events: Poison lets it
	// print them before it stops (Stop would drop them).
	_ = system.Root.PoisonFuture(operatorPID).Wait()
	if err != nil {
		return err
	}
	for _, ev := range final {
		out.Printf("[host] task %d (%s) ended %s; restarts: %d", ev.ID, ev.Name, ev.Outcome(), ev.Restarts)
	}

	// 6. taskvisor is gone, the host's system is not.
	n, err := askHeartbeat(system, heartbeatPID)
	if err != nil {
		return fmt.Errorf("the heartbeat stopped with taskvisor: %w", err)
	}
	out.Printf("[host] heartbeat still answers after taskvisor shut down: %d ticks", n)
	if err := system.Root.PoisonFuture(heartbeatPID).Wait(); err != nil {
		return err
	}
	out.Printf("[host] done")
	if answered != sent {
		return errors.New("the heartbeat missed pings while taskvisor ran")
	}
	return nil
}

// askHeartbeat pings the heartbeat and returns how many ticks it has counted.
func askHeartbeat(system *actor.ActorSystem, pid *actor.PID) (int, error) {
	res, err := system.Root.RequestFuture(pid, ping{}, time.Second).Result()
	if err != nil {
		return 0, err
	}
	return res.(pong).ticks, nil
}
