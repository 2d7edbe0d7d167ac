package node_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
	"github.com/taskvisor/taskvisor/node"
)

// probeSocket is the test binary run as another user: it connects to the
// socket and says whether the node talks (a gRPC server sends its HTTP/2
// settings first) or closes the connection at once.
func probeSocket(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if err == io.EOF {
		fmt.Println("closed")
		return 0
	}
	if err != nil {
		fmt.Println("read:", err)
		return 1
	}
	fmt.Println("open")
	return 0
}

// testUser is the second uid of the peer test, created when missing.
const testUser = "tvtest15"

// A connection from another uid is closed before gRPC sees it, with a log
// line; the node's own uid is served. The socket's mode is opened up for
// the test, so that it is the credential check that refuses.
func TestOtherUIDRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_PEERCRED is checked on Linux only")
	}
	uid, gid := proctest.SecondUser(t, testUser)

	dir := shortDir(t)
	var logBuf syncbuf.Buffer
	f := newFixture(t, dir, func(c *node.Config) { c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	// The other user must be able to reach the socket and run the probe.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(dir, "probe")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(probe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Dir(f.sock), f.sock} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	run := func(cred *syscall.Credential) string {
		cmd := exec.Command(probe)
		cmd.Env = append(os.Environ(), "TV15_PROBE_SOCKET="+f.sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("probe: %v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run(&syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}); got != "closed" {
		t.Fatalf("uid %d: the node %s the connection; want it closed", uid, got)
	}
	if !strings.Contains(logBuf.String(), "refused a connection from another user") || !strings.Contains(logBuf.String(), "uid="+strconv.Itoa(uid)) {
		t.Fatalf("no log line for the refusal:\n%s", logBuf.String())
	}
	if got := run(nil); got != "open" {
		t.Fatalf("own uid: the node %s the connection; want it served", got)
	}
}

// grpcurl, a stock client, lists the service by reflection and calls List.
func TestGrpcurl(t *testing.T) {
	bin, err := exec.LookPath("grpcurl")
	if err != nil {
		if home, herr := os.UserHomeDir(); herr == nil {
			if p := filepath.Join(home, "go", "bin", "grpcurl"); fileExists(p) {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("grpcurl is not installed (.ci/run installs it)")
		}
		t.Skip("grpcurl is not installed: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest")
	}
	f := newFixture(t, shortDir(t), nil)
	out, err := exec.Command(bin, "-plaintext", "-unix", f.sock, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "taskvisor.v1.Taskvisor") {
		t.Fatalf("grpcurl list: %v: %s", err, out)
	}
	if out, err := exec.Command(bin, "-plaintext", "-unix", "-d", `{"template":"echo"}`, f.sock, "taskvisor.v1.Taskvisor/Start").CombinedOutput(); err != nil {
		t.Fatalf("grpcurl Start: %v: %s", err, out)
	}
	out, err = exec.Command(bin, "-plaintext", "-unix", f.sock, "taskvisor.v1.Taskvisor/List").Output()
	if err != nil {
		t.Fatalf("grpcurl List: %v: %s", err, out)
	}
	var res struct {
		Tasks []struct{ Name string }
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Tasks) != 1 || res.Tasks[0].Name != "echo" {
		t.Fatalf("grpcurl List: %v: %s", err, out)
	}
	// An unknown method is Unimplemented, and the node goes on.
	conn, err := grpc.NewClient("unix://"+f.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Invoke(ctx(t), "/taskvisor.v1.Taskvisor/Nope", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := exec.Command(bin, "-plaintext", "-unix", f.sock, "taskvisor.v1.Taskvisor/Info").Output(); err != nil {
		t.Fatal(err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
