package node_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/client"
)

// wait bounds every expectation generously: a passing test never waits it.
const wait = 15 * time.Second

func TestMain(m *testing.M) {
	if sock := os.Getenv("TV15_PROBE_SOCKET"); sock != "" {
		os.Exit(probeSocket(sock))
	}
	goleak.VerifyTestMain(m)
}

// fixture is a runtime served by a node in a state directory and socket of
// the test's own, and a client of it.
type fixture struct {
	t     *testing.T
	dir   string
	sock  string
	cfg   node.Config
	rt    *actors.Runtime
	n     *node.Node
	c     *client.Client
	ended bool
}

var catalogue = actors.Catalogue{
	{Name: "echo", Key: "1", Command: "echo one; echo two; echo three >&2"},
	{Name: "sleeper", Key: "2", Command: "exec sleep 30", StopGrace: time.Second},
	{Name: "ticker", Key: "3", Command: "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done", StopGrace: time.Second},
}

// shortDir is a temp dir with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tv15")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newFixture(t *testing.T, dir string, mod func(*node.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: dir, sock: filepath.Join(dir, "run", "n.sock")}
	f.cfg = node.Config{Name: "test", StateDir: filepath.Join(dir, "state"), Socket: f.sock}
	if mod != nil {
		mod(&f.cfg)
	}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) start() {
	t := f.t
	t.Helper()
	rt, err := actors.New(actors.Config{Catalogue: catalogue, Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.Runtime = rt
	n, err := node.Open(f.cfg)
	if err != nil {
		rt.Shutdown(context.Background())
		t.Fatal(err)
	}
	c, err := client.Dial(client.Target{Socket: f.sock})
	if err != nil {
		t.Fatal(err)
	}
	f.rt, f.n, f.c, f.ended = rt, n, c, false
}

// stop shuts the runtime down and closes the node, as serve does.
func (f *fixture) stop() {
	if f.ended {
		return
	}
	f.ended = true
	f.c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := f.rt.Shutdown(ctx); err != nil {
		f.t.Error(err)
	}
	if err := f.n.Close(); err != nil {
		f.t.Error(err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func code(err error) codes.Code { return status.Code(err) }

func TestCallsAndStatuses(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	c := ctx(t)

	st, err := os.Stat(f.sock)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", st.Mode(), err)
	}
	tmpl, err := f.c.ListTemplates(c, &pb.ListTemplatesRequest{})
	if err != nil || len(tmpl.Templates) != len(catalogue) || tmpl.Templates[1].GetName() != "sleeper" {
		t.Fatalf("templates %v, %v", tmpl, err)
	}
	res, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "echo"}})
	if err != nil || res.Id != 1 || res.Run != 1 {
		t.Fatalf("start: %v, %v", res, err)
	}
	w, err := f.c.Wait(c, &pb.WaitRequest{Task: "echo"})
	if err != nil || w.Task.GetState() != "completed" || w.Task.GetExitCode() != 0 || w.Task.ExitCode == nil {
		t.Fatalf("wait: %v, %v", w, err)
	}
	lines := output(t, f.c, &pb.OutputRequest{Task: "1", Last: 2})
	if got := strings.Join(lines, "|"); got != "stdout two|stderr three" {
		t.Fatalf("output last 2: %q", got)
	}

	for _, tc := range []struct {
		call func() error
		want codes.Code
		msg  string
	}{
		{func() error { _, err := f.c.Cancel(c, &pb.CancelRequest{Task: "7"}); return err }, codes.NotFound, "no such task"},
		{func() error { _, err := f.c.Kill(c, &pb.KillRequest{Task: "nosuch"}); return err }, codes.NotFound, `"nosuch"`},
		{func() error { _, err := f.c.Cancel(c, &pb.CancelRequest{Task: "1"}); return err }, codes.FailedPrecondition, "already ended"},
		{func() error { _, err := f.c.Restart(c, &pb.RestartRequest{Task: ""}); return err }, codes.InvalidArgument, "missing"},
		{func() error { _, err := f.c.Kill(c, &pb.KillRequest{Task: "-3"}); return err }, codes.InvalidArgument, "count from 1"},
		{func() error { _, err := f.c.Kill(c, &pb.KillRequest{Task: "9.1"}); return err }, codes.NotFound, "current run is 1"},
		{func() error {
			_, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "nope"}})
			return err
		}, codes.NotFound, "nope"},
		{func() error {
			_, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: &pb.TaskSpec{Name: "x"}}})
			return err
		}, codes.InvalidArgument, "Command or Argv"},
		{func() error {
			_, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: &pb.TaskSpec{Name: "x", Command: "true", StopSignal: "SIGNOPE"}}})
			return err
		}, codes.InvalidArgument, "stop_signal"},
		{func() error { _, err := f.c.Start(c, &pb.StartRequest{}); return err }, codes.InvalidArgument, "template or a spec"},
		{func() error {
			s, err := f.c.Events(c, &pb.EventsRequest{Since: 1 << 40})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.OutOfRange, "past the node's last event"},
	} {
		err := tc.call()
		if code(err) != tc.want || !strings.Contains(status.Convert(err).Message(), tc.msg) {
			t.Errorf("got %v; want %v with %q", err, tc.want, tc.msg)
		}
		var ce *client.Error
		if errors.As(client.AsError(err), &ce) && tc.want == codes.NotFound && !errors.Is(ce, actors.ErrUnknownTask) {
			t.Errorf("client.Error %v does not match ErrUnknownTask", ce)
		}
	}

	// Ambiguous names are refused with the ids that share them.
	for range 2 {
		if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "2"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.c.Cancel(c, &pb.CancelRequest{Task: "sleeper"})
	if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "tasks 2, 3") {
		t.Fatalf("ambiguous cancel: %v", err)
	}
	if _, err := f.c.Kill(c, &pb.KillRequest{Task: "2"}); err != nil {
		t.Fatal(err)
	}
	list, err := f.c.List(c, &pb.ListRequest{})
	if err != nil || len(list.Tasks) != 3 || list.LastSeq == 0 {
		t.Fatalf("list: %v, %v", list, err)
	}
}

// output reads an Output stream to its end as "stream text" lines.
func output(t *testing.T, c *client.Client, req *pb.OutputRequest) []string {
	t.Helper()
	s, err := c.Output(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Lines {
			lines = append(lines, l.Stream+" "+l.Text)
		}
	}
}
