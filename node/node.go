// Package node makes a taskvisor runtime a node that outlives its terminal:
// it serves the API of api/taskvisor/v1 over gRPC on a unix socket, numbers
// every event of the runtime in a journal that streams can resume from, keeps
// task records and the journal in an embedded store (bbolt), and writes each
// task's output to a log file rotated by size.
//
// A node is what `taskvisor serve` runs, and what plain `taskvisor` runs
// beside its terminal UI. Clients are in package node/client.
package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// Message size bounds of the server.
const (
	// MaxRecvBytes bounds a request.
	MaxRecvBytes = 1 << 20
	// MaxSendBytes bounds a reply message (a List of every task record).
	MaxSendBytes = 64 << 20
)

// Config configures a node. Runtime is required; the zero value of every
// other field means its default.
type Config struct {
	// Runtime is the runtime the node serves. Open subscribes to its events:
	// open the node before starting tasks (Runtime.Autostart) so that none
	// of their events is missed. The caller shuts it down, before Close.
	Runtime *actors.Runtime
	// Name is the node's name. Empty: DefaultName.
	Name string
	// StateDir holds the store (store.db), the node's log (node.log) and the
	// task logs (logs/). Empty: StateDir(Name).
	StateDir string
	// Socket is the unix socket to listen on. Empty: SocketPath(Name).
	Socket string
	// Listen is a TCP address (HOST:PORT) to serve on as well, with TLS:
	// mutual TLS 1.3, the node's certificate and a client certificate
	// signed by the CA required (certs.ServerConfig). Empty: none.
	Listen string
	// TLS is the TCP listener's configuration; required with Listen unless
	// Insecure.
	TLS *tls.Config
	// Insecure serves Listen without TLS; only a loopback address is
	// accepted then.
	Insecure bool
	// Store bounds the journal and the task records on disk.
	Store StoreBounds
	// MemoryEvents is how many of the newest events are kept in memory for
	// the streams. Zero: DefaultMemoryEvents.
	MemoryEvents int
	// LogMaxBytes is the size at which a task log is rotated. Zero:
	// DefaultLogMaxBytes.
	LogMaxBytes int64
	// LogFiles is how many files of a task log are kept. Zero:
	// DefaultLogFiles.
	LogFiles int
	// Logger receives the node's log: connections refused, store errors.
	// Nil: discarded.
	Logger *slog.Logger
	// OnShutdown is called, once, when a client asks the node to shut down
	// (before the node shuts the runtime down), so that the program that
	// owns the runtime ends as on SIGTERM. It must not block. Nil: nothing.
	OnShutdown func()
}

// Node serves a runtime's API. Its methods are safe for concurrent use.
type Node struct {
	cfg     Config
	rt      *actors.Runtime
	name    string
	run     uint64
	started time.Time
	log     *slog.Logger
	logDir  string

	store   *Store
	journal *Journal
	grpc    *grpc.Server
	lis     net.Listener
	served  chan struct{}
	// tcp serves Listen (nil without); tcpServed is closed once it stopped.
	tcp       *grpc.Server
	tcpServed chan struct{}
	// closing is closed as Close begins: the usage streams end with it.
	closing chan struct{}

	unsubscribe func()
	logs        *taskLogs

	shutdownOnce sync.Once
	shutdown     chan struct{}
	closeOnce    sync.Once
	closeErr     error
}

// Open opens the node's store (ErrLocked when a node of the same name runs),
// ends the records of tasks that an earlier run left running (it died), and
// serves the API on the socket until Close.
func Open(cfg Config) (*Node, error) {
	if cfg.Runtime == nil {
		return nil, errors.New("node: Config.Runtime is required")
	}
	n := &Node{cfg: cfg, rt: cfg.Runtime, name: cfg.Name, log: cfg.Logger, started: time.Now(),
		served: make(chan struct{}), shutdown: make(chan struct{}), closing: make(chan struct{})}
	if n.name == "" {
		n.name = DefaultName
	}
	if err := CheckName(n.name); err != nil {
		return nil, err
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if n.cfg.StateDir == "" {
		if n.cfg.StateDir, err = StateDir(n.name); err != nil {
			return nil, err
		}
	}
	if n.cfg.Socket == "" {
		if n.cfg.Socket, err = SocketPath(n.name); err != nil {
			return nil, err
		}
	}
	n.cfg.LogMaxBytes = int64(orInt(int(n.cfg.LogMaxBytes), DefaultLogMaxBytes))
	n.cfg.LogFiles = orInt(n.cfg.LogFiles, DefaultLogFiles)
	n.logDir = filepath.Join(n.cfg.StateDir, "logs")
	if err := os.MkdirAll(n.logDir, 0o700); err != nil {
		return nil, fmt.Errorf("node %s: %w", n.name, err)
	}
	n.store, err = OpenStore(filepath.Join(n.cfg.StateDir, "store.db"), n.cfg.Store)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("node %q: %w", n.name, err)
		}
		return nil, fmt.Errorf("node %q: %w", n.name, err)
	}
	run, lastSeq, err := n.store.NextRun()
	if err != nil {
		n.store.Close()
		return nil, fmt.Errorf("node %q: store: %w", n.name, err)
	}
	n.run = run
	n.journal = newJournal(n.store, lastSeq, cfg.MemoryEvents, n.dropLogs,
		func(err error) { n.log.Error("store: writing events failed", "err", err) })
	if err := n.endOrphans(); err != nil {
		n.log.Error("store: ending the tasks of an earlier run", "err", err)
	}

	lis, err := listen(n.cfg.Socket)
	if err != nil {
		n.journal.Close()
		n.store.Close()
		return nil, fmt.Errorf("node %q: %w", n.name, err)
	}
	n.lis = &peerListener{Listener: lis, uid: os.Getuid(), log: n.log}

	n.logs = newTaskLogs(n)
	n.unsubscribe = n.rt.SubscribeAll(n.record)

	n.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxRecvBytes),
		grpc.MaxSendMsgSize(MaxSendBytes),
		grpc.MaxConcurrentStreams(1000),
		grpc.ChainUnaryInterceptor(recoverUnary(n.log)),
		grpc.ChainStreamInterceptor(recoverStream(n.log)),
		// The clients' keepalive pings (every 10 s; ssh reaches this
		// socket through dial-stdio) are welcome: the default policy
		// would answer them with a GOAWAY after the third.
		grpc.KeepaliveEnforcementPolicy(keepalivePolicy),
	)
	pb.RegisterTaskvisorServer(n.grpc, &server{n: n})
	reflection.Register(n.grpc)
	go func() {
		defer close(n.served)
		if err := n.grpc.Serve(n.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			n.log.Error("serve", "err", err)
		}
	}()
	if err := n.serveTCP(); err != nil {
		n.Close()
		return nil, fmt.Errorf("node %q: %w", n.name, err)
	}
	n.log.Info("node serving", "node", n.name, "run", n.run, "socket", n.cfg.Socket, "listen", n.cfg.Listen, "state", n.cfg.StateDir, "pid", os.Getpid())
	return n, nil
}

// keepalivePolicy lets the clients ping every 10 s (node/client's
// keepalives) and a little more often.
var keepalivePolicy = keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}

// serveTCP serves the API on Config.Listen, if set: a gRPC server of its
// own with the TLS credentials (a server's credentials are all of its
// connections'), and read-only clients held to the calls that change
// nothing.
func (n *Node) serveTCP() error {
	if n.cfg.Listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", n.cfg.Listen, err)
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvBytes), grpc.MaxSendMsgSize(MaxSendBytes), grpc.MaxConcurrentStreams(1000),
		grpc.ChainUnaryInterceptor(recoverUnary(n.log), readOnlyUnary(n.log)),
		grpc.ChainStreamInterceptor(recoverStream(n.log)),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalivePolicy),
	}
	switch {
	case n.cfg.Insecure:
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("listen %s: without TLS only a loopback address is served", n.cfg.Listen)
		}
	case n.cfg.TLS == nil:
		return fmt.Errorf("listen %s: TLS configuration required (or --insecure on a loopback address)", n.cfg.Listen)
	default:
		opts = append(opts, grpc.Creds(credentials.NewTLS(loggedTLS(n.cfg.TLS, n.log))))
	}
	lis, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	n.cfg.Listen = lis.Addr().String() // the port, if 0 was asked
	n.tcp = grpc.NewServer(opts...)
	pb.RegisterTaskvisorServer(n.tcp, &server{n: n})
	n.tcpServed = make(chan struct{})
	go func() {
		defer close(n.tcpServed)
		if err := n.tcp.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			n.log.Error("serve tcp", "err", err)
		}
	}()
	return nil
}

// Listen is the TCP address the node serves on; empty for none.
func (n *Node) Listen() string { return n.cfg.Listen }

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// Run is the node's run: 1 the first time a node of this name (and state
// directory) is opened, one more each time after.
func (n *Node) Run() uint64 { return n.run }

// Socket is the unix socket the node serves on.
func (n *Node) Socket() string { return n.cfg.Socket }

// StateDirectory is the directory of the node's store and logs.
func (n *Node) StateDirectory() string { return n.cfg.StateDir }

// LastSeq is the sequence number of the node's newest event.
func (n *Node) LastSeq() uint64 { return n.journal.Last() }

// ShutdownRequested is closed once a client has asked the node to shut down.
func (n *Node) ShutdownRequested() <-chan struct{} { return n.shutdown }

// record is the runtime's event handler: it numbers each event and feeds the
// task logs. It runs on the subscription's actor, in publication order.
func (n *Node) record(e actors.Event) {
	switch ev := e.(type) {
	case actors.TaskEvent:
		n.journal.Append(&pb.Event{Kind: &pb.Event_Task{Task: TaskEventToProto(n.name, n.run, ev)}})
		n.logs.event(ev)
	case actors.GroupEvent:
		n.journal.Append(&pb.Event{Kind: &pb.Event_Group{Group: GroupEventToProto(n.name, n.run, ev)}})
	case actors.NoticeEvent:
		n.journal.Append(&pb.Event{Kind: &pb.Event_Notice{Notice: NoticeToProto(n.name, n.run, ev)}})
		n.log.Warn(ev.Message, "notice", string(ev.Kind))
	}
}

// endOrphans ends the records of tasks that an earlier run of the node left
// unended: that run died (SIGKILL, a crash, the machine) and its tasks'
// processes went with it, killed by the guard process where there is one.
func (n *Node) endOrphans() error {
	recs, err := n.store.Tasks()
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range recs {
		if t.GetRun() >= n.run || actors.State(t.GetState()).Ended() {
			continue
		}
		e := cloneTask(t)
		e.Reason = fmt.Sprintf("the node ended (run %d) while the task was %s: its processes ended with it", t.GetRun(), t.GetState())
		e.State, e.Message, e.Deadline, e.Time = string(actors.StateFailed), "Ended with the node", nil, ts(now)
		e.Final = true
		n.journal.Append(&pb.Event{Kind: &pb.Event_Task{Task: e}})
	}
	return nil
}

// dropLogs removes the logs of task records the store dropped.
func (n *Node) dropLogs(recs []*pb.TaskEvent) {
	for _, t := range recs {
		removeLogs(logPath(n.logDir, t.GetRun(), t.GetId(), t.GetName()))
	}
}

// requestShutdown tells the owner, once, that a client asked for a shutdown.
func (n *Node) requestShutdown() {
	n.shutdownOnce.Do(func() {
		close(n.shutdown)
		if n.cfg.OnShutdown != nil {
			n.cfg.OnShutdown()
		}
	})
}

// closeGrace is how long Close lets calls in flight finish before it cuts
// their connections.
const closeGrace = 2 * time.Second

// Close stops serving: the event streams end once they have sent what the
// journal holds, calls in flight get closeGrace to finish, then the task
// logs and the store are closed (its lock released) and the socket removed.
// Call it once the runtime has shut down, so that the tasks' last events and
// lines are kept. Calling it again returns the same result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.closing)
		n.unsubscribe()
		n.logs.close()
		n.journal.Close()
		for _, srv := range []*grpc.Server{n.grpc, n.tcp} {
			if srv == nil {
				continue
			}
			stopped := make(chan struct{})
			go func() { srv.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(closeGrace):
				srv.Stop()
				<-stopped
			}
		}
		if n.grpc != nil {
			<-n.served
		}
		if n.tcp != nil {
			<-n.tcpServed
		}
		n.closeErr = n.store.Close()
		if err := os.Remove(n.cfg.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			n.closeErr = errors.Join(n.closeErr, err)
		}
		n.log.Info("node closed", "node", n.name, "run", n.run)
	})
	return n.closeErr
}

// NewLogger returns the node's logger writing to path (appended, 0600) and,
// when also is not nil, to it too; close closes the file.
func NewLogger(path string, also io.Writer) (*slog.Logger, func() error, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("node log: %w", err)
	}
	var w io.Writer = f
	if also != nil {
		w = io.MultiWriter(f, also)
	}
	return slog.New(slog.NewTextHandler(w, nil)), f.Close, nil
}
