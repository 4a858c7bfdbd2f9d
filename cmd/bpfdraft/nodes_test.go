package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/loadgen"
)

// addAccountTo creates the test's Secretariat account in a store given
// by --store.
func addAccountTo(t *testing.T, bin, storeURL string) account {
	t.Helper()
	cmd := exec.Command(bin, "user", "add", "--store", storeURL, "--email", testAccount.Email, "--name", "The Secretariat", "--role", "secretariat")
	cmd.Stdin = strings.NewReader(testAccount.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpfdraft user add: %v\n%s", err, out)
	}
	return testAccount
}

// TestNodesOnRedis: three server processes on one real Redis, and on a
// Redis Cluster of three masters, serve one document, without sticky sessions. A comment made through one node
// reaches a client of another at once. 30 clients spread over them type at
// random. One node is killed with SIGKILL while they type and a fourth
// one started; the killed node's clients reconnect to the new one with
// what was unconfirmed. Every client converges on the same text, and
// every update any client made is in the log exactly once.
func TestNodesOnRedis(t *testing.T) {
	bin := buildBinary(t)
	t.Run("redis", func(t *testing.T) { nodesOn(t, bin, redistest.Start(t).URL) })
	t.Run("cluster", func(t *testing.T) { nodesOn(t, bin, redistest.StartCluster(t, 3).URL) })
}

func nodesOn(t *testing.T, bin, storeURL string) {
	acct := addAccountTo(t, bin, storeURL)
	node := func() *proc {
		return startServer(t, bin, t.TempDir(), "--store", storeURL, "--edits-per-minute", "0", "--sockets-per-account", "0", "--sockets-per-address", "0")
	}
	nodes := []*proc{node(), node(), node()}
	s := nodes[0].signIn(t, acct) // the session is in Redis: every node knows it
	var doc struct{ ID string }
	doJSON(t, s, "POST", nodes[1].url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Three nodes"}, 201, &doc)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const writers = 30
	var confirmed atomic.Int64
	made := make([]int, writers)
	clients := make([]*client.Client, writers)
	for i := range clients {
		c, err := client.Dial(ctx, nodes[i%3].url(""), doc.ID, client.Options{
			Key:    fmt.Sprintf("node-writer-%d-key", i),
			Header: s.SocketHeader(),
			OnUpdate: func(u client.Update, own bool) {
				if own {
					confirmed.Add(1)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		defer c.Close()
	}

	// A comment made through one node reaches a client of another, in
	// the log's order.
	var commentSeen atomic.Bool
	watcher, err := client.Dial(ctx, nodes[2].url(""), doc.ID, client.Options{Viewer: true, Header: s.SocketHeader(),
		OnUpdate: func(u client.Update, _ bool) {
			if strings.Contains(string(u.Structure), `"op":"comment"`) {
				commentSeen.Store(true)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	doJSON(t, s, "POST", nodes[0].url("/api/documents/"+doc.ID+"/comments"), map[string]any{"section": "issues", "text": "Seen everywhere?"}, 201, nil)
	var head struct{ Seq int64 }
	doJSON(t, s, "GET", nodes[0].url("/api/documents/"+doc.ID), nil, 200, &head)
	if err := watcher.WaitSeq(ctx, head.Seq); err != nil || !commentSeen.Load() {
		t.Fatalf("a client of another node did not receive the comment (seq %d: %v)", head.Seq, err)
	}
	watcher.Close()
	var threads struct{ Comments []struct{ Text string } }
	doJSON(t, s, "GET", nodes[1].url("/api/documents/"+doc.ID+"/comments"), nil, 200, &threads)
	if len(threads.Comments) != 1 || threads.Comments[0].Text != "Seen everywhere?" {
		t.Fatalf("comments on another node: %+v", threads.Comments)
	}

	killed := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			secs := c.Sections()
			after := 0
			for {
				sec := secs[rng.IntN(3)]
				err := c.Edit(sec, func(text string) []editor.Change {
					n := editor.UTF16Len(text)
					at := 0
					if n > 0 {
						at = rng.IntN(n + 1)
					}
					// Tokens go between others' words, never inside one.
					for at > 0 && at < n && text[at-1] != ' ' {
						at--
					}
					return []editor.Change{{From: at, To: at, Insert: fmt.Sprintf("w%d.%d ", i, made[i])}}
				})
				if err != nil {
					t.Errorf("edit: %v", err)
					return
				}
				made[i]++
				time.Sleep(time.Duration(2+rng.IntN(8)) * time.Millisecond)
				select {
				case <-killed:
					if after++; after > 10 {
						return
					}
				default:
				}
			}
		}()
	}
	// Kill a node mid-stream, once updates are confirmed on every node.
	deadline := time.Now().Add(time.Minute)
	for confirmed.Load() < 600 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[2].done
	atKill := confirmed.Load()
	nodes = append(nodes, node())
	close(killed)
	wg.Wait()
	if t.Failed() {
		return
	}
	if atKill < 100 {
		t.Fatalf("only %d updates confirmed before the kill; the test needs more", atKill)
	}
	// The killed node's clients go to the new node; the others stay.
	for i := 2; i < writers; i += 3 {
		if err := clients[i].ReconnectTo(ctx, nodes[3].url("")); err != nil {
			t.Fatalf("%d: reconnect: %v", i, err)
		}
	}
	for i, c := range clients {
		if c.Closed() {
			t.Fatalf("client %d on %s was closed: %v", i, nodes[i%3].addr, c.Err())
		}
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	final := settledDoc(t, s, doc.ID, nodes[0], nodes[1], nodes[3])
	for i, c := range clients {
		if err := c.WaitSeq(ctx, final.Seq); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		for _, sec := range final.Sections {
			if got := c.Text(sec.ID); got != sec.Text {
				t.Fatalf("client %d: section %s differs from the document:\ngot  %q\nwant %q", i, sec.ID, got, sec.Text)
			}
		}
	}
	// Every node serves the same document.
	for _, n := range []*proc{nodes[0], nodes[1]} {
		var d struct {
			Seq      int64
			Sections []struct{ ID, Text string }
		}
		doJSON(t, s, "GET", n.url("/api/documents/"+doc.ID), nil, 200, &d)
		if d.Seq != final.Seq || fmt.Sprint(d.Sections) != fmt.Sprint(final.Sections) {
			t.Fatalf("node %s serves seq %d; the new node %d", n.addr, d.Seq, final.Seq)
		}
	}
	count := map[string]int{}
	for after := int64(0); after < final.Seq; {
		var hist struct {
			Updates []struct {
				Seq    int64
				Client string
			}
		}
		doJSON(t, s, "GET", nodes[0].url(fmt.Sprintf("/api/documents/%s/history?after=%d&limit=10000", doc.ID, after)), nil, 200, &hist)
		if len(hist.Updates) == 0 {
			t.Fatalf("the history ends at %d; the document is at %d", after, final.Seq)
		}
		for _, u := range hist.Updates {
			if u.Seq != after+1 {
				t.Fatalf("history entry after %d has seq %d", after, u.Seq)
			}
			after = u.Seq
			count[u.Client]++
		}
	}
	total := 0
	for i, c := range clients {
		if count[c.ID()] != made[i] {
			t.Errorf("client %d typed %d updates; the log holds %d of them", i, made[i], count[c.ID()])
		}
		total += made[i]
	}
	all := ""
	for _, sec := range final.Sections {
		all += sec.Text
	}
	everyTokenOnce(t, all, "w", made)
	t.Logf("%d updates from %d clients on 3 nodes (then 3 again, one killed at %d confirmed); seq %d", total, writers, atKill, final.Seq)
}

// TestRedisDownAndBack: two nodes on one Redis while clients type on
// both; Redis is killed (SIGKILL) mid-stream. The nodes say they are not
// ready, refuse to confirm anything and close the clients' connections
// (unavailable); the clients keep typing offline. Redis restarts from its
// append-only file; the clients reconnect and converge, and every update
// any of them made — confirmed before the crash or not — is in the log
// exactly once.
func TestRedisDownAndBack(t *testing.T) {
	bin := buildBinary(t)
	redis := redistest.Start(t)
	acct := addAccountTo(t, bin, redis.URL)
	node := func() *proc {
		return startServer(t, bin, t.TempDir(), "--store", redis.URL, "--edits-per-minute", "0", "--sockets-per-account", "0", "--sockets-per-address", "0")
	}
	nodes := []*proc{node(), node()}
	s := nodes[0].signIn(t, acct)
	var doc struct{ ID string }
	doJSON(t, s, "POST", nodes[0].url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Redis down"}, 201, &doc)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const writers = 10
	var confirmed atomic.Int64
	var unavailable atomic.Int64
	made := make([]int, writers)
	clients := make([]*client.Client, writers)
	for i := range clients {
		c, err := client.Dial(ctx, nodes[i%2].url(""), doc.ID, client.Options{
			Key:    fmt.Sprintf("redis-down-writer-%d-key", i),
			Header: s.SocketHeader(),
			OnUpdate: func(u client.Update, own bool) {
				if own {
					confirmed.Add(1)
				}
			},
			OnError: func(e *client.ServerError) {
				if e.Code == "unavailable" {
					unavailable.Add(1)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		defer c.Close()
	}
	down := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			secs := c.Sections()
			after := 0
			for {
				if err := c.Edit(secs[rng.IntN(2)], func(text string) []editor.Change {
					n := editor.UTF16Len(text)
					return []editor.Change{{From: n, To: n, Insert: fmt.Sprintf("r%d.%d ", i, made[i])}}
				}); err != nil {
					t.Errorf("edit: %v", err)
					return
				}
				made[i]++
				time.Sleep(time.Duration(2+rng.IntN(5)) * time.Millisecond)
				select {
				case <-down:
					if after++; after > 15 {
						return
					}
				default:
				}
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for confirmed.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	redis.Kill(t)
	atKill := confirmed.Load()
	close(down)
	wg.Wait()
	if t.Failed() {
		return
	}
	// Not ready while Redis is away: a load balancer sends no one here.
	for _, n := range nodes {
		guard := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(n.url("/readyz"))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 503 {
					break
				}
			}
			if time.Now().After(guard) {
				t.Fatalf("node %s still ready 30 s after Redis went away", n.addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Every connection is closed (nothing it sends can be kept).
	for i, c := range clients {
		guard := time.Now().Add(30 * time.Second)
		for !c.Closed() {
			if time.Now().After(guard) {
				t.Fatalf("client %d still connected 30 s after Redis went away", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if unavailable.Load() == 0 {
		t.Error("no client was told the store is unavailable")
	}
	afterKill := confirmed.Load()
	redis.Restart(t)
	for i, c := range clients {
		guard := time.Now().Add(30 * time.Second)
		for {
			err := c.ReconnectTo(ctx, nodes[i%2].url(""))
			if err == nil {
				break
			}
			if time.Now().After(guard) {
				t.Fatalf("client %d cannot reconnect after Redis is back: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, c := range clients {
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	final := settledDoc(t, s, doc.ID, nodes...)
	if final.Seq < afterKill {
		t.Fatalf("the document is at seq %d; %d updates were confirmed", final.Seq, afterKill)
	}
	all := ""
	for i, c := range clients {
		if err := c.WaitSeq(ctx, final.Seq); err != nil {
			t.Fatal(err)
		}
		for _, sec := range final.Sections {
			if got := c.Text(sec.ID); got != sec.Text {
				t.Fatalf("client %d: section %s differs:\ngot  %q\nwant %q", i, sec.ID, got, sec.Text)
			}
		}
	}
	for _, sec := range final.Sections {
		all += sec.Text
	}
	total := 0
	for i := range clients {
		total += made[i]
	}
	everyTokenOnce(t, all, "r", made)
	if int64(total) != final.Seq {
		t.Fatalf("%d updates made; the log holds %d", total, final.Seq)
	}
	t.Logf("%d updates; %d confirmed when Redis was killed, %d when every connection had closed; %d clients told unavailable", total, atKill, afterKill, unavailable.Load())
}

// docState is a document as GET /api/documents/{id} gives it.
type docState struct {
	Seq      int64
	Sections []struct{ ID, Text string }
}

// settledDoc waits until every node serves the document at the same seq
// (each reads what the others stored through its notifier) and returns
// it as the last one gives it.
func settledDoc(t *testing.T, s loadgen.Session, id string, nodes ...*proc) docState {
	t.Helper()
	for guard := time.Now().Add(30 * time.Second); ; {
		states := make([]docState, len(nodes))
		same := true
		for i, n := range nodes {
			doJSON(t, s, "GET", n.url("/api/documents/"+id), nil, 200, &states[i])
			same = same && states[i].Seq == states[0].Seq
		}
		if same {
			return states[len(states)-1]
		}
		if time.Now().After(guard) {
			t.Fatalf("30 s after every client was confirmed the nodes are still at different seqs: %+v", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// everyTokenOnce checks that every token client i typed, prefix<i>.<k>
// for k below made[i], appears in all exactly once.
func everyTokenOnce(t *testing.T, all, prefix string, made []int) {
	t.Helper()
	for i := range made {
		for k := 0; k < made[i]; k++ {
			if n := strings.Count(all, fmt.Sprintf("%s%d.%d ", prefix, i, k)); n != 1 {
				t.Fatalf("token %s%d.%d appears %d times; want exactly once", prefix, i, k, n)
			}
		}
	}
}
