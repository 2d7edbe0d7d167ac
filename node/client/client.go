// Package client connects to taskvisor nodes (package node): the control CLI
// and `taskvisor attach` use it. A program may hold clients of several nodes
// at once; nothing here is global.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
)

// Target says which node to reach.
type Target struct {
	// Node is the node's name. Empty: node.DefaultName.
	Node string
	// Socket is the node's unix socket. Empty: node.SocketPath(Node).
	Socket string
	// Address is the node's TCP address (HOST:PORT), reached with TLS
	// instead of the socket. Empty: the socket.
	Address string
	// TLS is the client's TLS configuration for Address
	// (certs.ClientConfig); nil with Address: plaintext, for a loopback
	// node served with Insecure.
	TLS *tls.Config
	// SSH is the [user@]host of a node reached over ssh (Node is then its
	// name on that host); each connection runs ssh there with `taskvisor
	// dial-stdio` (sshArgv), which speaks to the node's unix socket.
	SSH string
	// SSHPort is ssh's port (empty: ssh's default or config).
	SSHPort string
	// Lazy: Dial does not check that the socket is there; the first call
	// waits for it, as for any node out of reach (a client of several
	// nodes shows one not started yet as unreachable).
	Lazy bool
	// Remote is the command that runs taskvisor on the ssh host, as its
	// shell reads it ("/opt/bin/taskvisor", "env XDG_RUNTIME_DIR=/run/x
	// taskvisor"); empty: "taskvisor", found in the PATH of ssh's remote
	// shell.
	Remote string
}

// ErrNoNode says that no node serves at the target's socket.
var ErrNoNode = errors.New("no node is running")

// Client is a connection to one node.
type Client struct {
	pb.TaskvisorClient
	// Node is the node's name as the target gave it; Socket its socket.
	Node, Socket string
	conn         *grpc.ClientConn
	lastHeard    atomic.Int64 // unix nanoseconds of the last message of an event stream
}

// heard notes that the node was heard from now.
func (c *Client) heard() { c.lastHeard.Store(time.Now().UnixNano()) }

// LastHeard is when the node was last heard from on an event stream
// (StreamEvents): its last event, heartbeat or the stream's start; zero
// before any.
func (c *Client) LastHeard() time.Time {
	if n := c.lastHeard.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Dial connects to the target's node. The connection is made on the first
// call, and made again after it broke; Dial fails only when the target
// cannot name a socket or no socket file is there (ErrNoNode).
func Dial(t Target) (*Client, error) {
	name := t.Node
	if name == "" {
		name = node.DefaultName
	}
	if t.SSH != "" {
		conn, err := grpc.NewClient("passthrough:///ssh", append(dialOptions(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return dialSSH(ctx, t) }))...)
		if err != nil {
			return nil, fmt.Errorf("node ssh://%s: %w", t.SSH, err)
		}
		return &Client{TaskvisorClient: pb.NewTaskvisorClient(conn), Node: name, Socket: "ssh://" + t.SSH, conn: conn}, nil
	}
	if t.Address != "" {
		creds := insecure.NewCredentials()
		if t.TLS != nil {
			creds = credentials.NewTLS(t.TLS)
		}
		conn, err := grpc.NewClient("passthrough:///"+t.Address, append(dialOptions(), grpc.WithTransportCredentials(creds))...)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", t.Address, err)
		}
		return &Client{TaskvisorClient: pb.NewTaskvisorClient(conn), Node: name, Socket: t.Address, conn: conn}, nil
	}
	path := t.Socket
	if path == "" {
		var err error
		if path, err = node.SocketPath(name); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(path); err != nil && !t.Lazy {
		return nil, fmt.Errorf("node %q: %w here (no socket %s; start one with `taskvisor serve`)", name, ErrNoNode, path)
	}
	conn, err := grpc.NewClient("unix://"+path, append(dialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, fmt.Errorf("node %q: %w", name, err)
	}
	return &Client{TaskvisorClient: pb.NewTaskvisorClient(conn), Node: name, Socket: path, conn: conn}, nil
}

// dialOptions are every connection's: the message bounds of the node, gRPC
// keepalives (a ping after 10 s without traffic, 5 s for its answer), and
// a reconnection backoff of 100 ms growing to 5 s, as StreamEvents' (gRPC's
// default grows to 120 s: a node back after a minute would wait as long
// again to be seen).
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(node.MaxSendBytes), grpc.MaxCallSendMsgSize(node.MaxRecvBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: reconnectFirst, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMax},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Error is a node's refusal: the status code and its message, which names
// the problem. errors.Is matches it with the runtime's errors of the same
// meaning (actors.ErrUnknownTask for NotFound, actors.ErrWrongState for
// FailedPrecondition, actors.ErrStopped for Unavailable).
type Error struct {
	// Code is the status code the node answered.
	Code codes.Code
	// Message is the node's message, which names the problem.
	Message string
}

// Error returns the node's message.
func (e *Error) Error() string { return e.Message }

// Is matches the runtime's errors by meaning.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case codes.NotFound:
		return target == actors.ErrUnknownTask
	case codes.FailedPrecondition:
		return target == actors.ErrWrongState
	case codes.Unavailable:
		return target == actors.ErrStopped
	}
	return false
}

// AsError turns a call's error into an *Error carrying the node's message;
// a connection failure reads as such, a context's end stays itself.
func AsError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	if st.Code() == codes.Unavailable {
		msg = "the node does not answer: " + msg
	}
	return &Error{Code: st.Code(), Message: msg}
}
