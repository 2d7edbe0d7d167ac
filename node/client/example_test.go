package client_test

import (
	"fmt"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/node/client"
)

// Two nodes as one supervisor: an actor that sends Multi the runtime's
// commands (here the root context, with a future) gets the same replies,
// with Multi's IDs, each naming its node.
func ExampleNewMulti() {
	box1, err := client.Dial(client.Target{Node: "box1", Address: "10.0.0.1:7070", TLS: nil /* certs.ClientConfig(...) */})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer box1.Close()
	box2, err := client.Dial(client.Target{Node: "default", SSH: "ops@box2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	box2.Node = "box2" // the name Multi gives its tasks
	defer box2.Close()

	system := actors.NewSystem(nil)
	defer system.Shutdown()
	m := client.NewMulti([]*client.Client{box1, box2}, system)
	defer m.Close()
	// Kill box2's task 7: Multi's ID for it.
	res, err := system.Root.RequestFuture(m.PID(), actors.Kill{ID: client.LocalID(1, 7)}, actors.DefaultRequestTimeout).Result()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.(actors.Reply).Err)
}
