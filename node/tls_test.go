package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/certs"
	"github.com/taskvisor/taskvisor/node/client"
)

// A node over TCP with mutual TLS: a client of its CA is served; a
// read-only one lists but cannot start; a client of another CA, and one
// whose certificate expired, are refused, the latter saying so.
func TestMutualTLS(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	must := func(f certs.Files, err error) certs.Files {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ca := must(certs.Init(dir))
	nodeFiles := must(certs.Node(dir, "box1", certs.Options{Hosts: []string{"127.0.0.1"}}))
	user := must(certs.Client(dir, "alice", certs.Options{}))
	viewer := must(certs.Client(dir, "bob", certs.Options{ReadOnly: true}))
	expired := must(certs.Client(dir, "old", certs.Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour}))
	must(certs.Init(other))
	stranger := must(certs.Client(other, "mallory", certs.Options{}))

	serverTLS, err := certs.ServerConfig(nodeFiles, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	f := newFixture(t, shortDir(t), func(c *node.Config) {
		c.Listen, c.TLS = "127.0.0.1:0", serverTLS
		c.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	dial := func(files certs.Files) *client.Client {
		t.Helper()
		cfg, err := certs.ClientConfig(files, ca.Cert, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Dial(client.Target{Address: f.n.Listen(), TLS: cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := ctx(t)
	if _, err := dial(user).Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "sleeper"}}); err != nil {
		t.Fatalf("a client of the CA: %v", err)
	}
	ro := dial(viewer)
	if res, err := ro.List(c, &pb.ListRequest{}); err != nil || len(res.Tasks) != 1 {
		t.Fatalf("read-only list: %v, %v", res, err)
	}
	if _, err := ro.Kill(c, &pb.KillRequest{Task: "1"}); code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("read-only kill: %v, want PermissionDenied", err)
	}
	if _, err := dial(stranger).List(c, &pb.ListRequest{}); err == nil {
		t.Error("a client of another CA was served")
	}
	if _, err := certs.ClientConfig(expired, ca.Cert, "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "expired on") {
		t.Errorf("an expired certificate: %v, want an error that says expired", err)
	}
	// And the node refuses it, however the client came by its config.
	pair, err := tls.LoadX509KeyPair(expired.Cert, expired.Key)
	if err != nil {
		t.Fatal(err)
	}
	good, err := certs.ClientConfig(user, ca.Cert, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	good.Certificates = []tls.Certificate{pair}
	old, err := client.Dial(client.Target{Address: f.n.Listen(), TLS: good})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.List(c, &pb.ListRequest{}); err == nil {
		t.Error("the node served an expired client certificate")
	}
	for _, want := range []string{"certificate signed by unknown authority", "expired", "read-only client"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("node.log has no refusal with %q:\n%s", want, logged.String())
		}
	}
}

// syncBuffer is a bytes.Buffer for a logger on other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Without TLS only a loopback address is served.
func TestInsecureOnlyOnLoopback(t *testing.T) {
	dir := shortDir(t)
	rt, err := actors.New(actors.Config{Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	cfg := node.Config{Runtime: rt, Name: "test", StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "n.sock"),
		Listen: "0.0.0.0:0", Insecure: true}
	n, err := node.Open(cfg)
	if err == nil {
		n.Close()
		t.Fatal("a plaintext listener on 0.0.0.0 was opened")
	}
	if !strings.Contains(err.Error(), "only a loopback address") {
		t.Errorf("refusal: %v", err)
	}
}
