package ui

import (
	"fmt"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

// BenchmarkRenderFrame measures one frame, Render and Show, of 1,000 tasks
// in every state on a 120x40 simulation screen, the detail pane shown.
func BenchmarkRenderFrame(b *testing.B) {
	s := newScreen(b, 120, 40)
	m := thousandTasks(120, 40)
	m.Detail = true
	th := NewTheme(false, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Select(1 + i%len(m.Tasks)) // scroll, so that the rows change
		Render(s, m, th, t0)
		s.Show()
	}
}

// thousandTasks is a model of 1,000 tasks, a hundred in each state.
func thousandTasks(w, h int) *Model {
	m := NewModel(testCatalogue, w, h)
	states := everyState()
	for i := range 1000 {
		ev := states[i%len(states)]
		ev.ID = i + 1
		ev.Name = fmt.Sprintf("%s-%d", ev.Name, i)
		m.Event(ev)
	}
	return m
}

// BenchmarkRender is BenchmarkRenderFrame without Show: the part of a frame
// that is taskvisor's own (the simulation screen's Show allocates per cell).
func BenchmarkRender(b *testing.B) {
	s := newScreen(b, 120, 40)
	m := thousandTasks(120, 40)
	m.Detail = true
	th := NewTheme(false, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Select(1 + i%len(m.Tasks))
		Render(s, m, th, t0)
	}
}

// BenchmarkRenderFrameUsage is BenchmarkRenderFrame with a usage sample of
// every task applied before each frame: the CPU and MEM columns, the
// header's total, the detail's figures. Compare the two in one run:
//
//	go test -run '^$' -bench 'RenderFrame' ./ui/
func BenchmarkRenderFrameUsage(b *testing.B) {
	s := newScreen(b, 120, 40)
	m := thousandTasks(120, 40)
	m.Detail = true
	th := NewTheme(false, false)
	var ev actors.UsageEvent
	for _, t := range m.Tasks {
		ev.Tasks = append(ev.Tasks, actors.TaskUsage{ID: t.Event.ID, Generation: t.Event.Generation,
			CPU: 0.5, HasCPU: true, Memory: 30 << 20, MemoryPeak: 40 << 20, Procs: 2, FromCgroup: true})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.ApplyUsage(ev)
		m.Select(1 + i%len(m.Tasks))
		Render(s, m, th, t0)
		s.Show()
	}
}
