// Package redistest runs throwaway redis-server processes for tests: each
// on a free loopback port, in a temporary directory, with the append-only
// file fsynced on every write (as a production deployment of the Redis
// store is configured), stopped when the test ends.
//
// StartCluster runs several as one Redis Cluster.
//
// redis-server must be on PATH; scripts/test installs it. A test that
// cannot find it fails rather than skipping, so a machine without Redis
// never passes the Redis tests by running none of them.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process and where it keeps its data.
type Server struct {
	// URL is the redis:// URL of database 0, for redisstore.Open.
	URL string
	// Addr is host:port on the loopback interface.
	Addr string
	// Dir holds the append-only file; it outlives Kill and Restart.
	Dir string

	bin   string
	port  int
	extra []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has been waited for
}

// readyAttempts bounds how often Start and Restart ask a new process for
// PING before failing; the pause between asks grows up to readyPause.
const (
	readyAttempts = 400
	readyPause    = 50 * time.Millisecond
)

// Start runs a redis-server for t in t.TempDir(), with appendonly yes,
// appendfsync always and no RDB snapshots, and returns once it answers
// PING. It is stopped, and waited for, when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startWith(t)
}

// startWith is Start with more arguments for redis-server.
func startWith(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH (scripts/test installs it: apt-get install redis-server): %v", err)
	}
	s := &Server{bin: bin, Dir: t.TempDir(), extra: extra}
	t.Cleanup(func() { s.stop() })
	// A port found free may be taken before redis-server binds it; then
	// the process exits at once and another port is tried.
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "redis://" + s.Addr + "/0"
		if last = s.start(); last == nil {
			return s
		}
	}
	t.Fatalf("start redis-server: %v", last)
	return nil
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
// Whatever Redis had confirmed is in the append-only file.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.mu.Unlock()
	if cmd == nil {
		t.Fatal("Kill: redis-server is not running")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill redis-server: %v", err)
	}
	<-exit
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

// Restart starts redis-server again on the same port and directory, so
// that it reloads the append-only file, and returns once it answers PING.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatal("Restart: redis-server is still running; Kill it first")
	}
	if err := s.start(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
}

// FlushAll empties every database of the server.
func (s *Server) FlushAll(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHALL on %s: %v", s.Addr, err)
	}
}

// Client returns a plain client of the server, closed when t ends, for
// tests that write past the store (damaged records, lost messages).
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the process and waits until it answers PING, or fails if it
// exits first or does not answer within readyAttempts.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--save", "",
		"--daemonize", "no",
		"--logfile", "",
		"--protected-mode", "yes",
	)
	cmd.Args = append(cmd.Args, s.extra...)
	var out strings.Builder
	var outMu sync.Mutex
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() {
		// Keep the log for the error message; stop keeping it past 64 KiB.
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			outMu.Lock()
			if out.Len() < 64<<10 {
				out.WriteString(sc.Text() + "\n")
			}
			outMu.Unlock()
		}
		cmd.Wait()
		close(exit)
	}()
	log := func() string {
		outMu.Lock()
		defer outMu.Unlock()
		return out.String()
	}

	pause := time.Millisecond
	for range readyAttempts {
		select {
		case <-exit:
			return fmt.Errorf("redis-server on port %d exited before answering PING:\n%s", s.port, log())
		default:
		}
		if err := ping(s.Addr); err == nil {
			s.mu.Lock()
			s.cmd, s.exit = cmd, exit
			s.mu.Unlock()
			return nil
		}
		select {
		case <-exit:
		case <-time.After(pause):
		}
		pause = min(2*pause, readyPause)
	}
	cmd.Process.Kill()
	<-exit
	return fmt.Errorf("redis-server on port %d did not answer PING after %d attempts:\n%s", s.port, readyAttempts, log())
}

// ping sends one PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		// -LOADING while the append-only file is read.
		return errors.New(strings.TrimSpace(line))
	}
	return nil
}

// stop ends the process, if running, and waits for it.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exit
}

// Cluster is a Redis Cluster of throwaway servers, each a master of an
// equal part of the slots, with no replicas.
type Cluster struct {
	// URL is the redis+cluster:// URL naming every node, for
	// redisstore.Open.
	URL string
	// Nodes are the servers, in the order of their slots.
	Nodes []*Server
}

// clusterAttempts bounds how often StartCluster asks the nodes whether
// the cluster is formed; the pause between asks grows up to readyPause.
const clusterAttempts = 600

// StartCluster runs n redis-servers as Start does, with cluster mode on,
// gives each 16384/n of the slots, has them meet, and returns once every
// node reports the cluster ok and knows the others. extra are more
// arguments for every redis-server. They are stopped when t ends.
func StartCluster(t testing.TB, n int, extra ...string) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartCluster: %d nodes", n)
	}
	ctx := context.Background()
	c := &Cluster{}
	for i := range n {
		srv := startWith(t, append([]string{"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000"}, extra...)...)
		c.Nodes = append(c.Nodes, srv)
		first, last := i*16384/n, (i+1)*16384/n-1
		cl := srv.Client(t)
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", first, last, srv.Addr, err)
		}
		if i > 0 {
			if err := cl.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(c.Nodes[0].port)).Err(); err != nil {
				t.Fatalf("CLUSTER MEET from %s: %v", srv.Addr, err)
			}
		}
	}
	var addrs []string
	for _, srv := range c.Nodes[1:] {
		addrs = append(addrs, "addr="+srv.Addr)
	}
	c.URL = "redis+cluster://" + c.Nodes[0].Addr
	if len(addrs) > 0 {
		c.URL += "?" + strings.Join(addrs, "&")
	}
	clients := make([]*redis.Client, n)
	for i, srv := range c.Nodes {
		clients[i] = srv.Client(t)
	}
	pause := time.Millisecond
	var last string
	for range clusterAttempts {
		formed := true
		for i, srv := range c.Nodes {
			info, err := clients[i].ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r\n", n)) {
				formed, last = false, fmt.Sprintf("%s: %v\n%s", srv.Addr, err, info)
				break
			}
		}
		if formed {
			return c
		}
		time.Sleep(pause)
		pause = min(2*pause, readyPause)
	}
	t.Fatalf("the cluster of %d nodes did not form after %d checks; last:\n%s", n, clusterAttempts, last)
	return nil
}

// Client returns a cluster client, closed when t ends, for tests that
// write past the store.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	var addrs []string
	for _, srv := range c.Nodes {
		addrs = append(addrs, srv.Addr)
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DisableIdentity: true})
	t.Cleanup(func() { cl.Close() })
	return cl
}
