package node

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// fakeStream is a server stream that keeps what is sent.
type fakeStream[T any] struct {
	ctx  context.Context
	sent int
}

func (s *fakeStream[T]) Send(*T) error                { s.sent++; return nil }
func (s *fakeStream[T]) Context() context.Context     { return s.ctx }
func (s *fakeStream[T]) SetHeader(metadata.MD) error  { return nil }
func (s *fakeStream[T]) SendHeader(metadata.MD) error { return nil }
func (s *fakeStream[T]) SetTrailer(metadata.MD)       {}
func (s *fakeStream[T]) SendMsg(any) error            { return nil }
func (s *fakeStream[T]) RecvMsg(any) error            { return nil }

// allowed are the codes a refused request may get.
var allowed = map[codes.Code]bool{codes.OK: true, codes.NotFound: true, codes.FailedPrecondition: true,
	codes.InvalidArgument: true, codes.OutOfRange: true, codes.DeadlineExceeded: true, codes.Canceled: true}

// FuzzRequests feeds the handlers requests decoded from arbitrary bytes, as
// a client could send them: none may panic, each answers a status of the
// documented kinds, and the node keeps no task it was not asked to start.
// Start with a spec goes only as far as SpecFromProto: the fuzzer is not to
// run programs of its choosing.
func FuzzRequests(f *testing.F) {
	seed := func(m proto.Message) []byte { b, _ := proto.Marshal(m); return b }
	for _, b := range [][]byte{
		seed(&pb.CancelRequest{Task: "1"}), seed(&pb.KillRequest{Task: "true"}), seed(&pb.WaitRequest{Task: "1.1"}),
		seed(&pb.OutputRequest{Task: "1", Last: -5}), seed(&pb.StartRequest{What: &pb.StartRequest_Template{Template: "1"}}),
		seed(&pb.StartRequest{What: &pb.StartRequest_Spec{Spec: &pb.TaskSpec{Name: "x", Command: "true", StopSignal: "HUP"}}}),
		seed(&pb.EventsRequest{Since: 3}), seed(&pb.ListRequest{History: true}), {0xff, 0x01}, {},
	} {
		for op := range byte(9) {
			f.Add(op, b)
		}
	}
	var once sync.Once
	var s *server
	var cleanup func()
	f.Cleanup(func() {
		if cleanup != nil {
			cleanup()
		}
	})
	f.Fuzz(func(t *testing.T, op byte, data []byte) {
		once.Do(func() { s, cleanup = fuzzServer(t) })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var err error
		switch op % 9 {
		case 0:
			var r pb.CancelRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			_, err = s.Cancel(ctx, &r)
		case 1:
			var r pb.KillRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			_, err = s.Kill(ctx, &r)
		case 2:
			var r pb.RestartRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			_, err = s.Restart(ctx, &r)
		case 3:
			var r pb.WaitRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			_, err = s.Wait(ctx, &r)
		case 4:
			var r pb.OutputRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			err = s.Output(&r, &fakeStream[pb.OutputResponse]{ctx: ctx})
		case 5:
			var r pb.StartRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			if spec := r.GetSpec(); spec != nil {
				_, err = SpecFromProto(spec)
				return
			}
			_, err = s.Start(ctx, &r)
		case 6:
			var r pb.EventsRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			err = s.Events(&r, &fakeStream[pb.EventsResponse]{ctx: ctx})
		case 7:
			var r pb.ListRequest
			if proto.Unmarshal(data, &r) != nil {
				return
			}
			_, err = s.List(ctx, &r)
		default:
			_, err = s.Info(ctx, &pb.InfoRequest{})
		}
		if st, ok := status.FromError(err); !ok || !allowed[st.Code()] {
			t.Fatalf("op %d: %v: not a documented status", op%9, err)
		}
	})
}

// fuzzServer is a node whose catalogue holds only /bin/true.
func fuzzServer(t *testing.T) (*server, func()) {
	dir, err := os.MkdirTemp("", "tv15fz")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := actors.New(actors.Config{Catalogue: actors.Catalogue{{Name: "true", Key: "1", Argv: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(Config{Runtime: rt, Name: "fuzz", StateDir: filepath.Join(dir, "s"), Socket: filepath.Join(dir, "n.sock")})
	if err != nil {
		t.Fatal(err)
	}
	return &server{n: n}, func() {
		_, _ = rt.Shutdown(context.Background())
		_ = n.Close()
		os.RemoveAll(dir)
	}
}
