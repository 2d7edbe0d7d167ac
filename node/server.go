package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node/certs"
)

// server implements the Taskvisor service on a node's runtime. Every handler
// turns the runtime's errors into statuses (toStatus) and changes nothing
// for a request it refuses.
type server struct {
	pb.UnimplementedTaskvisorServer
	n *Node
}

// toStatus maps a runtime's error to a gRPC status with its message.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, actors.ErrUnknownTask), errors.Is(err, actors.ErrUnknownTemplate):
		code = codes.NotFound
	case errors.Is(err, actors.ErrWrongState), errors.Is(err, actors.ErrShuttingDown):
		code = codes.FailedPrecondition
	case errors.Is(err, actors.ErrUnknownGroup):
		code = codes.InvalidArgument
	case errors.Is(err, actors.ErrStopped):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// changing are the calls that change a task or the node, which a
// read-only client may not make.
var changing = map[string]bool{
	"Start": true, "Cancel": true, "Kill": true, "Restart": true, "Fail": true, "Pause": true,
	"Resume": true, "SetMaxParallel": true, "Shutdown": true,
}

// readOnlyUnary refuses the changing calls of a client whose certificate
// is read-only (certs.ReadOnly), with a log line.
func readOnlyUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
		if !changing[method] {
			return h(ctx, req)
		}
		p, _ := peer.FromContext(ctx)
		if p != nil {
			// The node verified the peer's certificates (loggedTLS).
			if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 &&
				certs.ReadOnly(ti.State.PeerCertificates[0]) {
				log.Warn("refused a call of a read-only client", "method", method, "peer", p.Addr.String(),
					"client", ti.State.PeerCertificates[0].Subject.CommonName)
				return nil, status.Errorf(codes.PermissionDenied, "%s: %v", method, certs.ErrReadOnly)
			}
		}
		return h(ctx, req)
	}
}

// recoverUnary turns a panic in a handler into an Internal status and a log
// line: a request never brings the node down.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (res any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in a handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "%s: internal error: %v", info.FullMethod, r)
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in a handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "%s: internal error: %v", info.FullMethod, r)
			}
		}()
		return h(srv, ss)
	}
}

// ref is a resolved task reference.
type ref struct {
	run uint64
	id  int64
	// rec is the task's record when it is not the current run's, or the
	// runtime has forgotten it.
	rec *pb.TaskEvent
}

func (r ref) String() string { return fmt.Sprintf("%d.%d", r.run, r.id) }

// current says whether the task is of the node's current run.
func (s *server) current(r ref) bool { return r.run == s.n.run }

// resolve reads a task reference: "ID", "RUN.ID", or a name.
func (s *server) resolve(ctx context.Context, task string) (ref, error) {
	task = strings.TrimSpace(task)
	if task == "" {
		return ref{}, status.Error(codes.InvalidArgument, "task: missing (an id, RUN.ID or a unique name)")
	}
	if run, id, ok := strings.Cut(task, "."); ok {
		r, err1 := strconv.ParseUint(run, 10, 64)
		i, err2 := strconv.ParseInt(id, 10, 64)
		if err1 == nil && err2 == nil {
			if r == 0 || i <= 0 {
				return ref{}, status.Errorf(codes.InvalidArgument, "task %q: runs and ids count from 1", task)
			}
			return s.lookup(ref{run: r, id: i}, task)
		}
	}
	if id, err := strconv.ParseInt(task, 10, 64); err == nil {
		if id <= 0 {
			return ref{}, status.Errorf(codes.InvalidArgument, "task %q: ids count from 1", task)
		}
		return ref{run: s.n.run, id: id}, nil
	}
	tasks, err := s.n.rt.List(ctx)
	if err != nil {
		return ref{}, toStatus(err)
	}
	var ids []string
	var found int
	for _, t := range tasks {
		if t.Name == task {
			ids = append(ids, strconv.Itoa(t.ID))
			found = t.ID
		}
	}
	switch len(ids) {
	case 1:
		return ref{run: s.n.run, id: int64(found)}, nil
	case 0:
	default:
		return ref{}, status.Errorf(codes.InvalidArgument, "task %q: the name is ambiguous: tasks %s have it; give an id", task, strings.Join(ids, ", "))
	}
	recs, err := s.n.store.Tasks()
	if err != nil {
		return ref{}, status.Errorf(codes.Internal, "task %q: store: %v", task, err)
	}
	for _, t := range slices.Backward(recs) {
		if t.GetName() == task {
			return ref{run: t.GetRun(), id: t.GetId(), rec: t}, nil
		}
	}
	return ref{}, status.Errorf(codes.NotFound, "task %q: no task of that name", task)
}

// lookup finds a task of an earlier run in the store.
func (s *server) lookup(r ref, task string) (ref, error) {
	if s.current(r) {
		return r, nil
	}
	rec, err := s.n.store.Task(r.run, r.id)
	if err != nil {
		return ref{}, status.Errorf(codes.Internal, "task %q: store: %v", task, err)
	}
	if rec == nil {
		return ref{}, status.Errorf(codes.NotFound, "task %q: no such task (the node's current run is %d)", task, s.n.run)
	}
	r.rec = rec
	return r, nil
}

// record returns the stored record of a task the runtime no longer knows.
func (s *server) record(r ref) (*pb.TaskEvent, error) {
	if r.rec != nil {
		return r.rec, nil
	}
	rec, err := s.n.store.Task(r.run, r.id)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "task %s: store: %v", r, err)
	}
	if rec == nil {
		return nil, status.Errorf(codes.NotFound, "task %d: %v", r.id, actors.ErrUnknownTask)
	}
	return rec, nil
}

// historic refuses a command for a task of an earlier run.
func historic(op string, r ref) error {
	return status.Errorf(codes.FailedPrecondition, "%s task %s: it belongs to an earlier run of the node and ended %s",
		op, r, r.rec.GetState())
}

func (s *server) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	return &pb.InfoResponse{Node: s.n.name, Pid: int64(os.Getpid()), Run: s.n.run, StateDir: s.n.cfg.StateDir,
		LastSeq: s.n.journal.Last(), FirstSeq: s.n.journal.First(), Started: timestamppb.New(s.n.started)}, nil
}

func (s *server) List(ctx context.Context, req *pb.ListRequest) (*pb.ListResponse, error) {
	// The journal's number first: every event up to it is in the list that
	// the runtime gives after.
	last := s.n.journal.Last()
	tasks, err := s.n.rt.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	res := &pb.ListResponse{LastSeq: last, Tasks: make([]*pb.TaskEvent, 0, len(tasks))}
	live := make(map[int64]bool, len(tasks))
	var usage map[int64]*pb.TaskUsage
	if req.GetUsage() {
		usage = s.usageNow(tasks)
	}
	for _, t := range tasks {
		m := TaskEventToProto(s.n.name, s.n.run, t)
		if u, ok := usage[int64(t.ID)]; ok && int(u.GetGeneration()) == t.Generation {
			m.Usage = u
		}
		res.Tasks = append(res.Tasks, m)
		live[int64(t.ID)] = true
	}
	if req.GetHistory() {
		// The store's records, with every event appended so far in them:
		// the journal writes in batches, a little later.
		s.n.journal.Sync()
		recs, err := s.n.store.Tasks()
		if err != nil {
			return nil, status.Errorf(codes.Internal, "list: store: %v", err)
		}
		var old []*pb.TaskEvent
		for _, t := range recs {
			if t.GetRun() == s.n.run && live[t.GetId()] {
				continue
			}
			t.History = t.GetRun() != s.n.run
			old = append(old, t)
		}
		res.Tasks = append(old, res.Tasks...)
	}
	return res, nil
}

func (s *server) ListTemplates(context.Context, *pb.ListTemplatesRequest) (*pb.ListTemplatesResponse, error) {
	res := &pb.ListTemplatesResponse{}
	for _, t := range s.n.rt.Catalogue() {
		res.Templates = append(res.Templates, SpecToProto(t))
	}
	return res, nil
}

func (s *server) Start(ctx context.Context, req *pb.StartRequest) (*pb.StartResponse, error) {
	var id int
	var err error
	switch what := req.GetWhat().(type) {
	case *pb.StartRequest_Template:
		if what.Template == "" {
			return nil, status.Error(codes.InvalidArgument, "start: template: empty (a key or a name of the catalogue)")
		}
		id, err = s.n.rt.Start(ctx, what.Template)
	case *pb.StartRequest_Spec:
		spec, cerr := SpecFromProto(what.Spec)
		if cerr != nil {
			return nil, status.Errorf(codes.InvalidArgument, "start: %v", cerr)
		}
		id, err = s.n.rt.StartSpec(ctx, spec)
	default:
		return nil, status.Error(codes.InvalidArgument, "start: give a template or a spec")
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StartResponse{Id: int64(id), Run: s.n.run}, nil
}

// command runs Cancel, Kill or Restart on a task of the current run.
func (s *server) command(ctx context.Context, op, task string, do func(context.Context, int) error) error {
	r, err := s.resolve(ctx, task)
	if err != nil {
		return err
	}
	if !s.current(r) {
		return historic(op, r)
	}
	if r.id > int64(^uint(0)>>1) {
		return status.Errorf(codes.NotFound, "%s task %d: %v", op, r.id, actors.ErrUnknownTask)
	}
	return toStatus(do(ctx, int(r.id)))
}

func (s *server) Cancel(ctx context.Context, req *pb.CancelRequest) (*pb.CancelResponse, error) {
	return &pb.CancelResponse{}, s.command(ctx, "cancel", req.GetTask(), s.n.rt.Cancel)
}

func (s *server) Kill(ctx context.Context, req *pb.KillRequest) (*pb.KillResponse, error) {
	return &pb.KillResponse{}, s.command(ctx, "kill", req.GetTask(), s.n.rt.Kill)
}

func (s *server) Restart(ctx context.Context, req *pb.RestartRequest) (*pb.RestartResponse, error) {
	return &pb.RestartResponse{}, s.command(ctx, "restart", req.GetTask(), s.n.rt.Restart)
}

func (s *server) Fail(ctx context.Context, req *pb.FailRequest) (*pb.FailResponse, error) {
	fail := func(ctx context.Context, id int) error { return s.n.rt.Fail(ctx, id, req.GetReason()) }
	return &pb.FailResponse{}, s.command(ctx, "fail", req.GetTask(), fail)
}

func (s *server) Pause(ctx context.Context, req *pb.PauseRequest) (*pb.PauseResponse, error) {
	return &pb.PauseResponse{}, s.pauseOrResume(ctx, req, false)
}

func (s *server) Resume(ctx context.Context, req *pb.PauseRequest) (*pb.PauseResponse, error) {
	return &pb.PauseResponse{}, s.pauseOrResume(ctx, req, true)
}

func (s *server) pauseOrResume(ctx context.Context, req *pb.PauseRequest, resume bool) error {
	op := "pause"
	if resume {
		op = "resume"
	}
	switch {
	case (req.GetTask() == "") == (req.GetGroup() == ""):
		return status.Errorf(codes.InvalidArgument, "%s: give a task or a group", op)
	case req.GetGroup() != "":
		return toStatus(s.n.rt.PauseGroup(ctx, req.GetGroup(), resume))
	case resume:
		return s.command(ctx, op, req.GetTask(), s.n.rt.Resume)
	default:
		return s.command(ctx, op, req.GetTask(), s.n.rt.Pause)
	}
}

func (s *server) SetMaxParallel(ctx context.Context, req *pb.SetMaxParallelRequest) (*pb.SetMaxParallelResponse, error) {
	if req.GetAdjust() != 0 {
		n, err := s.n.rt.AdjustMaxParallel(ctx, req.GetGroup(), int(req.GetAdjust()))
		return &pb.SetMaxParallelResponse{Limit: int32(n)}, toStatus(err)
	}
	if req.GetLimit() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "max-parallel: %d is negative", req.GetLimit())
	}
	err := s.n.rt.SetMaxParallel(ctx, req.GetGroup(), int(req.GetLimit()))
	return &pb.SetMaxParallelResponse{Limit: req.GetLimit()}, toStatus(err)
}

func (s *server) Wait(ctx context.Context, req *pb.WaitRequest) (*pb.WaitResponse, error) {
	r, err := s.resolve(ctx, req.GetTask())
	if err != nil {
		return nil, err
	}
	if s.current(r) {
		ev, err := s.n.rt.Wait(ctx, int(r.id))
		if err == nil {
			return &pb.WaitResponse{Task: TaskEventToProto(s.n.name, s.n.run, ev)}, nil
		}
		if !errors.Is(err, actors.ErrUnknownTask) {
			return nil, toStatus(err)
		}
	}
	rec, err := s.record(r)
	if err != nil {
		return nil, err
	}
	rec.History = !s.current(r)
	return &pb.WaitResponse{Task: rec}, nil
}

func (s *server) Shutdown(ctx context.Context, req *pb.ShutdownRequest) (*pb.ShutdownResponse, error) {
	s.n.log.Info("shutdown asked by a client", "kill", req.GetKill())
	s.n.requestShutdown()
	sctx := context.WithoutCancel(ctx)
	if req.GetKill() {
		var cancel context.CancelFunc
		sctx, cancel = context.WithCancel(sctx)
		cancel() // an ended context: SIGKILL to every task at once
	}
	final, err := s.n.rt.Shutdown(sctx)
	res := &pb.ShutdownResponse{}
	for _, t := range final {
		res.Tasks = append(res.Tasks, TaskEventToProto(s.n.name, s.n.run, t))
	}
	if err != nil {
		return res, status.Errorf(codes.Internal, "shutdown: %v", err)
	}
	return res, nil
}

func (s *server) Events(req *pb.EventsRequest, stream grpc.ServerStreamingServer[pb.EventsResponse]) error {
	cursor := req.GetSince()
	if last := s.n.journal.Last(); req.GetLive() {
		cursor = last
	} else if cursor > last {
		return status.Errorf(codes.OutOfRange, "events: since %d is past the node's last event %d", cursor, last)
	}
	// Headers now, so that the client knows the stream is up before the
	// first event, and how often it will hear from the node at least.
	if err := stream.SendHeader(metadata.Pairs(HeartbeatHeader, Heartbeat.String())); err != nil {
		return err
	}
	ctx := stream.Context()
	heartbeat := time.NewTimer(Heartbeat)
	defer heartbeat.Stop()
	for {
		events, wake, closed, err := s.n.journal.Read(cursor)
		if err != nil {
			return status.Errorf(codes.Internal, "events: %v", err)
		}
		if len(events) > 0 {
			if err := stream.Send(&pb.EventsResponse{Events: events}); err != nil {
				return err
			}
			cursor = events[len(events)-1].GetSeq()
			heartbeat.Reset(Heartbeat)
			continue
		}
		if closed {
			return nil // the node is closing: the stream ends after the last event
		}
		select {
		case <-wake:
		case <-heartbeat.C:
			if err := stream.Send(&pb.EventsResponse{}); err != nil {
				return err
			}
			heartbeat.Reset(Heartbeat)
			continue
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		// What comes within streamCoalesce goes in one message: many
		// clients of busy tasks cost the node a send per batch, not per
		// event, and a UI draws at most every 33 ms anyway.
		select {
		case <-time.After(streamCoalesce):
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// Usage streams the runtime's usage samples (follow) or answers one.
// Without follow, a sample's CPU is the interval's when the node was
// sampling already (a UI or another stream asks for it), else the average
// over each process's run so far, as ps shows it.
func (s *server) Usage(req *pb.UsageRequest, stream grpc.ServerStreamingServer[pb.UsageResponse]) error {
	samples := make(chan actors.UsageEvent, 4)
	unsubscribe := s.n.rt.SubscribeUsage(func(ev actors.UsageEvent) {
		select {
		case samples <- ev:
		default: // a slow client misses samples, never holds the sampler up
		}
	})
	defer unsubscribe()
	ctx := stream.Context()
	for {
		select {
		case ev := <-samples:
			m := UsageToProto(ev)
			if !req.GetFollow() {
				if tasks, err := s.n.rt.List(ctx); err == nil {
					averageCPU(m, tasks, ev.Time)
				}
			}
			if err := stream.Send(m); err != nil || !req.GetFollow() {
				return err
			}
		case <-s.n.closing:
			return nil
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// usageNow is one usage sample, by task ID, with averageCPU's figures
// where the sample has none of its own.
func (s *server) usageNow(tasks []actors.TaskEvent) map[int64]*pb.TaskUsage {
	got := make(chan actors.UsageEvent, 1)
	unsubscribe := s.n.rt.SubscribeUsage(func(ev actors.UsageEvent) {
		select {
		case got <- ev:
		default:
		}
	})
	defer unsubscribe()
	var ev actors.UsageEvent
	select {
	case ev = <-got: // the first sample comes at once
	case <-time.After(callBound):
		return nil // the runtime has stopped sampling: shutting down
	}
	m := UsageToProto(ev)
	averageCPU(m, tasks, ev.Time)
	out := make(map[int64]*pb.TaskUsage, len(m.Tasks))
	for _, u := range m.Tasks {
		out[u.GetId()] = u
	}
	return out
}

// averageCPU gives the tasks of a sample without an interval figure their
// CPU averaged over their processes' runs so far (tasks: their events).
func averageCPU(m *pb.UsageResponse, tasks []actors.TaskEvent, now time.Time) {
	started := make(map[int64]time.Time, len(tasks))
	for _, ev := range tasks {
		started[int64(ev.ID)] = ev.Started
	}
	for _, t := range m.Tasks {
		if st, ok := started[t.GetId()]; ok && !t.GetHasCpu() && !st.IsZero() && now.After(st) {
			t.Cpu, t.HasCpu = float64(t.GetCpuTime().AsDuration())/float64(now.Sub(st)), true
		}
	}
}

// callBound bounds the wait for a usage sample in a List.
const callBound = 5 * time.Second

// Heartbeat is how long an event stream stays quiet before the node sends
// a message without events, so that the client hears from it
// (node/client takes a stream silent for three of them as lost).
const Heartbeat = 2 * time.Second

// HeartbeatHeader is the event stream's header that says the node's
// Heartbeat, as a Go duration ("2s"): a client may take a stream silent
// for longer than a few of them as lost.
const HeartbeatHeader = "taskvisor-heartbeat"

// streamCoalesce is how long a live stream gathers events after the first
// before it sends them.
const streamCoalesce = 20 * time.Millisecond

// outputBatch is the most lines an Output message carries.
const outputBatch = 512

func (s *server) Output(req *pb.OutputRequest, stream grpc.ServerStreamingServer[pb.OutputResponse]) error {
	ctx := stream.Context()
	r, err := s.resolve(ctx, req.GetTask())
	if err != nil {
		return err
	}
	last := int(req.GetLast())
	if last < 0 {
		return status.Errorf(codes.InvalidArgument, "output: last %d is negative", last)
	}
	if s.current(r) {
		lines, err := s.n.rt.Output(ctx, int(r.id))
		if err == nil {
			if last > 0 && len(lines) > last {
				lines = lines[len(lines)-last:]
			}
			batch := make([]*pb.OutputLine, 0, min(len(lines), outputBatch))
			for _, l := range lines {
				batch = append(batch, lineToProto(actors.OutputLine{Line: l}))
				if len(batch) == outputBatch {
					if err := stream.Send(&pb.OutputResponse{Lines: batch}); err != nil {
						return err
					}
					batch = batch[:0:0]
				}
			}
			if len(batch) > 0 {
				if err := stream.Send(&pb.OutputResponse{Lines: batch}); err != nil {
					return err
				}
			}
			if !req.GetFollow() {
				return nil
			}
			var after *actors.Line
			if len(lines) > 0 {
				after = &lines[len(lines)-1]
			}
			return s.follow(ctx, int(r.id), after, stream)
		}
		if !errors.Is(err, actors.ErrUnknownTask) {
			return toStatus(err)
		}
	}
	// A task of an earlier run, or one the runtime has forgotten: its log.
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	lines, err := readLogs(logPath(s.n.logDir, rec.GetRun(), rec.GetId(), rec.GetName()), s.n.cfg.LogFiles, last)
	if errors.Is(err, os.ErrNotExist) {
		return nil // it wrote nothing
	}
	if err != nil {
		return status.Errorf(codes.Internal, "output: %v", err)
	}
	for len(lines) > 0 {
		n := min(len(lines), outputBatch)
		if err := stream.Send(&pb.OutputResponse{Lines: lines[:n]}); err != nil {
			return err
		}
		lines = lines[n:]
	}
	return nil
}

// follow streams task id's lines written after the line after (all of
// them when it is nil) until the task has ended. Follow delivers the task's
// buffer first: the lines up to after, sent already, are skipped.
func (s *server) follow(ctx context.Context, id int, after *actors.Line, stream grpc.ServerStreamingServer[pb.OutputResponse]) error {
	ch, err := s.n.rt.Follow(ctx, id)
	if err != nil {
		return toStatus(err)
	}
	skipping := after != nil
	for {
		l, ok := <-ch
		if !ok {
			if err := ctx.Err(); err != nil {
				return status.FromContextError(err).Err()
			}
			return nil
		}
		if skipping {
			if !l.Time.After(after.Time) {
				if l.Time.Equal(after.Time) && l.Text == after.Text && l.Stream == after.Stream {
					skipping = false
				}
				continue
			}
			skipping = false
		}
		batch := []*pb.OutputLine{lineToProto(l)}
	more:
		for len(batch) < outputBatch {
			select {
			case l, ok := <-ch:
				if !ok {
					break more
				}
				batch = append(batch, lineToProto(l))
			default:
				break more
			}
		}
		if err := stream.Send(&pb.OutputResponse{Lines: batch}); err != nil {
			return err
		}
	}
}

func lineToProto(l actors.OutputLine) *pb.OutputLine {
	return &pb.OutputLine{Stream: l.Stream.String(), Text: l.Text, Time: ts(l.Time), Cut: l.Cut, Skipped: l.Skipped}
}
