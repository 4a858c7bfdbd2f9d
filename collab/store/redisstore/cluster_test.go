package redisstore

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
)

// cutProxy passes TCP connections through to a Redis node. Armed with a
// word, it passes on the next chunk a client sends that holds the word,
// then closes that client's connection before the answer comes back: the
// command runs in Redis and its answer is lost, as when a connection
// breaks at the worst moment.
type cutProxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	armed  []byte
	// answered is closed once Redis has answered the cut command.
	answered chan struct{}
}

func startCutProxy(t *testing.T) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go p.accept()
	return p
}

func (p *cutProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// setTarget names the node the proxy passes connections to.
func (p *cutProxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// arm has the proxy cut the next command holding word.
func (p *cutProxy) arm(word string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.answered = []byte(word), make(chan struct{})
	return p.answered
}

func (p *cutProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		server, err := net.Dial("tcp", target)
		if err != nil {
			client.Close()
			continue
		}
		go p.pass(client, server)
	}
}

// pass copies client to server, chunk by chunk, and server to client,
// until the cut.
func (p *cutProxy) pass(client, server net.Conn) {
	var cut atomic.Pointer[chan struct{}]
	go func() {
		defer server.Close()
		defer client.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if c := cut.Load(); n > 0 && c != nil {
				close(*c) // the cut command's answer, not passed on
				return
			}
			if n > 0 {
				if _, err := client.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if p.armed != nil && bytes.Contains(bytes.ToLower(buf[:n]), p.armed) {
				// Set before the command goes on, so that the reader
				// knows its answer.
				c := p.answered
				cut.Store(&c)
				p.armed = nil
			}
			p.mu.Unlock()
			if _, err := server.Write(buf[:n]); err != nil {
				server.Close()
				return
			}
			if cut.Load() != nil {
				// The server stays open until it has answered.
				client.Close()
				return
			}
		}
		if err != nil {
			server.Close()
			return
		}
	}
}

// TestClusterLostAnswerNotRetried: in a cluster, an append whose answer
// is lost with its connection is not sent again. It ran once; sent
// again, it would be refused as a conflict with itself, and a conflict
// says that another writer appended.
func TestClusterLostAnswerNotRetried(t *testing.T) {
	ctx := context.Background()
	// One master with every slot, which tells clients to reach it on the
	// proxy's port.
	proxy := startCutProxy(t)
	cl := redistest.StartCluster(t, 1, "--cluster-announce-port", strconv.Itoa(proxy.port()))
	proxy.setTarget(cl.Nodes[0].Addr)
	s := openAt(t, "redis+cluster://127.0.0.1:"+strconv.Itoa(proxy.port()), freshPrefix())
	newDocument(t, s, "d")
	must(t, s.Append(ctx, "d", 0, updates(1, 2, "c"))) // the script is loaded

	answered := proxy.arm("evalsha")
	err := s.Append(ctx, "d", 2, updates(3, 2, "c"))
	if err == nil || errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append whose answer was lost = %v; want an error, not a conflict", err)
	}
	<-answered
	got, err := s.ReadUpdates(ctx, "d", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3].Seq != 4 {
		t.Fatalf("the log holds %d updates; want 4, the lost answer's two once", len(got))
	}
	// The store goes on over new connections.
	must(t, s.Append(ctx, "d", 4, updates(5, 1, "c")))
}

// TestURLs: which URLs are Redis stores, and a clear error for a cluster
// URL naming a database other than 0.
func TestURLs(t *testing.T) {
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"redis://h:6379/0", true},
		{"rediss://h:6379/0", true},
		{"redis+cluster://h:7000", true},
		{"rediss+cluster://h:7000?addr=h:7001", true},
		{"", false},
		{"redis:h", false},
		{"http://h", false},
		{"redis+sentinel://h", false},
		{"/var/lib/bpfdraft", false},
	} {
		if got := IsURL(c.url); got != c.want {
			t.Errorf("IsURL(%q) = %v; want %v", c.url, got, c.want)
		}
	}
	if _, err := Open(context.Background(), "redis+cluster://127.0.0.1:1/2"); err == nil || !strings.Contains(err.Error(), "only database 0") {
		t.Errorf("Open of a cluster URL with database 2 = %v; want an error saying a cluster has only database 0", err)
	}
	if _, err := Open(context.Background(), "redis+cluster://127.0.0.1:1?bogus=1"); err == nil || !strings.Contains(err.Error(), "cluster URL") {
		t.Errorf("Open of a cluster URL with an unknown parameter = %v; want an error naming the cluster URL", err)
	}
}

// TestClusterPingEveryMaster: readiness on a cluster asks every master,
// so a master down (its slots unserved) fails Ping even though the
// other masters answer.
func TestClusterPingEveryMaster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3)
	s := openAt(t, cl.URL, freshPrefix())
	must(t, s.Ping(ctx))
	cl.Nodes[2].Kill(t)
	err := s.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "redis at ") {
		t.Fatalf("Ping with a master down = %v; want an error naming the cluster", err)
	}
}
