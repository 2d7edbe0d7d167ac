// Package ui is taskvisor's terminal UI, built on tcell in the Elm
// architecture: a Model of the tasks, fed by the runtime's events; an update
// (the UI actor's Receive) that turns events, keys and replies into a new
// model and keys into commands to the supervisor; and Render, a pure
// function from the model and the clock to the cells of a screen.
//
// The UI actor is the only goroutine that draws. It talks to the runtime
// only through commands (actors.Start, Cancel, Kill, Restart, GetOutput) and
// events (actors.TaskEvent, actors.GroupEvent); it never touches a process.
// Run wires it to a real terminal and to a Runtime, and owns the shutdown.
package ui
