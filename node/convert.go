package node

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// The conversions between the runtime's values and the API's messages live
// here, in one place for both directions, so that a field added to one side
// is added to the other in the same file.

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func dur(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// TaskEventToProto converts a runtime's TaskEvent of the node's run into the
// API's form.
func TaskEventToProto(node string, run uint64, e actors.TaskEvent) *pb.TaskEvent {
	m := &pb.TaskEvent{
		Node: node, Run: run, Id: int64(e.ID), Name: e.Name, Group: e.Group, State: string(e.State),
		Pid: int64(e.PID), Generation: int64(e.Generation), Step: int64(e.Step), Steps: int64(e.Steps),
		Progress: e.Progress, Status: e.Status, Message: e.Message, Restarts: int64(e.Restarts),
		Signal: int32(e.Signal), SignalName: e.SignalName(), Reason: e.Reason,
		Deadline: ts(e.Deadline), LastActivity: ts(e.LastActivity), Policy: e.Policy,
		StopSignal: int32(e.StopSignal), StallAction: string(e.StallAction), Started: ts(e.Started),
		Time: ts(e.Time), NotifyDropped: e.NotifyDropped, Final: e.Final, QueueTicket: e.QueueTicket, TimeoutAt: ts(e.TimeoutAt),
	}
	if e.ExitCode >= 0 {
		code := int32(e.ExitCode)
		m.ExitCode = &code
	}
	return m
}

// TaskEventFromProto converts the API's TaskEvent back into the runtime's
// form, as a front end built for the runtime's events (the terminal UI)
// consumes it; Runtime is set to the node's name.
func TaskEventFromProto(m *pb.TaskEvent) actors.TaskEvent {
	e := actors.TaskEvent{
		Runtime: m.GetNode(), ID: int(m.GetId()), Name: m.GetName(), Group: m.GetGroup(), State: actors.State(m.GetState()),
		PID: int(m.GetPid()), Generation: int(m.GetGeneration()), Step: int(m.GetStep()), Steps: int(m.GetSteps()),
		Progress: m.GetProgress(), Status: m.GetStatus(), Message: m.GetMessage(), Restarts: int(m.GetRestarts()),
		ExitCode: -1, Signal: syscall.Signal(m.GetSignal()), Reason: m.GetReason(),
		Deadline: fromTS(m.GetDeadline()), LastActivity: fromTS(m.GetLastActivity()), Policy: m.GetPolicy(),
		StopSignal: syscall.Signal(m.GetStopSignal()), StallAction: actors.StallAction(m.GetStallAction()),
		Started: fromTS(m.GetStarted()), Time: fromTS(m.GetTime()), NotifyDropped: m.GetNotifyDropped(), Final: m.GetFinal(), QueueTicket: m.GetQueueTicket(), TimeoutAt: fromTS(m.GetTimeoutAt()),
	}
	if m.ExitCode != nil {
		e.ExitCode = int(m.GetExitCode())
	}
	return e
}

// GroupEventToProto converts a runtime's GroupEvent into the API's form.
func GroupEventToProto(node string, run uint64, e actors.GroupEvent) *pb.GroupEvent {
	tasks := make([]int64, len(e.Tasks))
	for i, id := range e.Tasks {
		tasks[i] = int64(id)
	}
	return &pb.GroupEvent{
		Node: node, Run: run, Group: e.Group, Parent: e.Parent, Strategy: string(e.Strategy),
		State: string(e.State), Restarts: int64(e.Restarts), Tasks: tasks, Message: e.Message,
		Reason: e.Reason, Time: ts(e.Time),
	}
}

// GroupEventFromProto converts the API's GroupEvent into the runtime's form.
func GroupEventFromProto(m *pb.GroupEvent) actors.GroupEvent {
	tasks := make([]int, len(m.GetTasks()))
	for i, id := range m.GetTasks() {
		tasks[i] = int(id)
	}
	return actors.GroupEvent{
		Runtime: m.GetNode(), Group: m.GetGroup(), Parent: m.GetParent(), Strategy: actors.Strategy(m.GetStrategy()),
		State: actors.GroupState(m.GetState()), Restarts: int(m.GetRestarts()), Tasks: tasks,
		Message: m.GetMessage(), Reason: m.GetReason(), Time: fromTS(m.GetTime()),
	}
}

// NoticeToProto converts a runtime's NoticeEvent into the API's form.
func NoticeToProto(node string, run uint64, e actors.NoticeEvent) *pb.Notice {
	return &pb.Notice{Node: node, Run: run, Kind: string(e.Kind), Message: e.Message, Time: ts(e.Time)}
}

// NoticeFromProto converts the API's Notice into the runtime's form.
func NoticeFromProto(m *pb.Notice) actors.NoticeEvent {
	return actors.NoticeEvent{Runtime: m.GetNode(), Kind: actors.NoticeKind(m.GetKind()), Message: m.GetMessage(),
		Time: fromTS(m.GetTime())}
}

// SpecToProto converts a task spec into the API's form.
func SpecToProto(s actors.TaskSpec) *pb.TaskSpec {
	m := &pb.TaskSpec{
		Name: s.Name, Key: s.Key, Description: s.Description, Command: s.Command, Argv: s.Argv, Dir: s.Dir,
		Env: s.Env, Group: s.Group, StopGrace: dur(s.StopGrace), OutputLines: int32(s.OutputLines),
		Restart: string(s.Restart), MaxRestarts: int32(s.MaxRestarts), RestartWindow: dur(s.RestartWindow),
		StallTimeout: dur(s.StallTimeout), StallAction: string(s.StallAction), StallGrace: dur(s.StallGrace),
		Ready: string(s.Ready), StartTimeout: dur(s.StartTimeout), Autostart: s.Autostart,
		Activity: string(s.Activity), Timeout: dur(s.Timeout), TimeoutAction: string(s.TimeoutAction),
		After: s.After, MemoryMax: s.MemoryMax, CpuMax: s.CPUMax, PidsMax: int32(s.PidsMax),
		LimitsBestEffort: s.LimitsBestEffort, MemoryRestart: s.MemoryRestart,
	}
	if s.StopSignal != 0 {
		m.StopSignal = actors.SignalName(s.StopSignal)
	}
	return m
}

// SpecFromProto converts the API's TaskSpec into a runtime's, checking what
// the conversion itself can get wrong (a signal name, a duration out of
// range); TaskSpec.Validate checks the rest.
func SpecFromProto(m *pb.TaskSpec) (actors.TaskSpec, error) {
	if m == nil {
		return actors.TaskSpec{}, fmt.Errorf("spec: missing")
	}
	var errs []string
	d := func(field string, v *durationpb.Duration) time.Duration {
		if v == nil {
			return 0
		}
		if err := v.CheckValid(); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", field, err))
			return 0
		}
		return v.AsDuration()
	}
	s := actors.TaskSpec{
		Name: m.GetName(), Key: m.GetKey(), Description: m.GetDescription(), Command: m.GetCommand(),
		Argv: m.GetArgv(), Dir: m.GetDir(), Env: m.GetEnv(), Group: m.GetGroup(),
		StopGrace: d("stop_grace", m.GetStopGrace()), OutputLines: int(m.GetOutputLines()),
		Restart: actors.RestartMode(m.GetRestart()), MaxRestarts: int(m.GetMaxRestarts()),
		RestartWindow: d("restart_window", m.GetRestartWindow()), StallTimeout: d("stall_timeout", m.GetStallTimeout()),
		StallAction: actors.StallAction(m.GetStallAction()), StallGrace: d("stall_grace", m.GetStallGrace()),
		Ready: actors.ReadyMode(m.GetReady()), StartTimeout: d("start_timeout", m.GetStartTimeout()),
		Autostart: m.GetAutostart(), Activity: actors.ActivityMode(m.GetActivity()),
		Timeout: d("timeout", m.GetTimeout()), TimeoutAction: actors.TimeoutAction(m.GetTimeoutAction()),
		After: m.GetAfter(), MemoryMax: m.GetMemoryMax(), CPUMax: m.GetCpuMax(), PidsMax: int(m.GetPidsMax()),
		LimitsBestEffort: m.GetLimitsBestEffort(), MemoryRestart: m.GetMemoryRestart(),
	}
	if m.GetStopSignal() != "" {
		sig, err := ParseSignal(m.GetStopSignal())
		if err != nil {
			errs = append(errs, "stop_signal: "+err.Error())
		}
		s.StopSignal = sig
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("spec %q: %s", s.Name, strings.Join(errs, "; "))
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// ParseSignal reads a signal as a name ("SIGTERM", "TERM") or a number.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("%d is not a signal number", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("%q is not a signal name", s)
}

// UsageToProto converts a usage sample into the API's form.
func UsageToProto(ev actors.UsageEvent) *pb.UsageResponse {
	m := &pb.UsageResponse{Time: ts(ev.Time), Tasks: make([]*pb.TaskUsage, len(ev.Tasks))}
	if ev.Interval > 0 {
		m.Interval = durationpb.New(ev.Interval)
	}
	for i, t := range ev.Tasks {
		m.Tasks[i] = &pb.TaskUsage{Id: int64(t.ID), Generation: int64(t.Generation), Cpu: t.CPU, HasCpu: t.HasCPU,
			Memory: t.Memory, MemoryPeak: t.MemoryPeak, Procs: int32(t.Procs), FromCgroup: t.FromCgroup,
			CpuTime: durationpb.New(t.CPUTime)}
	}
	return m
}

// UsageFromProto converts a usage sample from the API's form.
func UsageFromProto(m *pb.UsageResponse) actors.UsageEvent {
	ev := actors.UsageEvent{Time: fromTS(m.GetTime()), Interval: m.GetInterval().AsDuration(), Tasks: make([]actors.TaskUsage, len(m.GetTasks()))}
	for i, t := range m.GetTasks() {
		ev.Tasks[i] = actors.TaskUsage{ID: int(t.GetId()), Generation: int(t.GetGeneration()), CPU: t.GetCpu(), HasCPU: t.GetHasCpu(),
			Memory: t.GetMemory(), MemoryPeak: t.GetMemoryPeak(), Procs: int(t.GetProcs()), FromCgroup: t.GetFromCgroup(),
			CPUTime: t.GetCpuTime().AsDuration()}
	}
	return ev
}
