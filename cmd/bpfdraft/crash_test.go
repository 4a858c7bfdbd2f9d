package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/editor"
)

// freeAddr returns a loopback address with a port free right now, so a
// restarted server can come back where its clients look for it.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCrashKeepsConfirmedUpdates edits a document from several clients,
// kills the server with SIGKILL while they type, restarts it on the same
// data directory and checks that every update confirmed before the crash
// is there; the clients then reconnect with what was unconfirmed and
// converge, with every edit of every client in the log exactly once.
func TestCrashKeepsConfirmedUpdates(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	acct := addAccount(t, bin, data)
	// No cap on edits: the writers type far faster than a person.
	p := startServer(t, bin, data, "--addr", addr, "--edits-per-minute", "0")
	base := "http://" + p.addr
	// The writers' session is kept in the data directory: their cookie
	// still opens the document after the restart.
	s := p.signIn(t, acct)
	var doc struct{ ID string }
	doJSON(t, s, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Crash"}, 201, &doc)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const writers = 6
	var confirmed atomic.Int64 // highest seq confirmed to any client
	made := make([]int, writers)
	clients := make([]*client.Client, writers)
	for i := range clients {
		c, err := client.Dial(ctx, base, doc.ID, client.Options{
			Key:    fmt.Sprintf("crash-writer-%d-key", i),
			Header: s.SocketHeader(),
			OnUpdate: func(u client.Update, own bool) {
				for own {
					cur := confirmed.Load()
					if u.Seq <= cur || confirmed.CompareAndSwap(cur, u.Seq) {
						break
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		defer c.Close()
	}

	// Type until a while after the crash.
	crashed := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			secs := c.Sections()
			after := 0
			for {
				sec := secs[rng.IntN(3)]
				err := c.Edit(sec, func(text string) []editor.Change {
					n := editor.UTF16Len(text)
					return []editor.Change{{From: n, To: n, Insert: fmt.Sprintf("w%d.%d ", i, made[i])}}
				})
				if err != nil {
					t.Errorf("edit: %v", err)
					return
				}
				made[i]++
				time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
				select {
				case <-crashed:
					if after++; after > 20 {
						return
					}
				default:
				}
			}
		}()
	}
	// Let confirmed updates pile up, then kill the server mid-stream.
	deadline := time.Now().Add(20 * time.Second)
	for confirmed.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	atConfirmed := confirmed.Load()
	close(crashed)
	wg.Wait()
	if atConfirmed < 50 {
		t.Fatalf("only %d updates confirmed before the crash; the test needs more", atConfirmed)
	}

	p2 := startServer(t, bin, data, "--addr", addr, "--edits-per-minute", "0")
	var after struct{ Seq int64 }
	doJSON(t, s, "GET", p2.url("/api/documents/"+doc.ID), nil, 200, &after)
	if after.Seq < atConfirmed {
		t.Fatalf("after restart the document is at seq %d; %d updates were confirmed before the crash", after.Seq, atConfirmed)
	}
	t.Logf("confirmed before the crash: %d; durable after restart: %d", atConfirmed, after.Seq)

	// Everyone reconnects with what they have pending and converges.
	for _, c := range clients {
		if err := c.Reconnect(ctx); err != nil {
			t.Fatalf("%s: reconnect: %v", c.ID(), err)
		}
	}
	for _, c := range clients {
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatalf("%s: %v", c.ID(), err)
		}
	}
	var final struct {
		Seq      int64
		Sections []struct{ ID, Text string }
	}
	doJSON(t, s, "GET", p2.url("/api/documents/"+doc.ID), nil, 200, &final)
	for _, c := range clients {
		if err := c.WaitSeq(ctx, final.Seq); err != nil {
			t.Fatal(err)
		}
		for _, s := range final.Sections {
			if got := c.Text(s.ID); got != s.Text {
				t.Fatalf("%s: section %s differs from the server's after the crash:\ngot  %q\nwant %q", c.ID(), s.ID, got, s.Text)
			}
		}
	}
	var hist struct {
		Updates []struct {
			Seq    int64
			Client string
		}
	}
	doJSON(t, s, "GET", p2.url(fmt.Sprintf("/api/documents/%s/history?limit=10000", doc.ID)), nil, 200, &hist)
	count := map[string]int{}
	for i, u := range hist.Updates {
		if u.Seq != int64(i+1) {
			t.Fatalf("history entry %d has seq %d", i, u.Seq)
		}
		count[u.Client]++
	}
	for i, c := range clients {
		id := c.ID()
		if count[id] != made[i] {
			t.Errorf("%s typed %d updates; the log holds %d of them", id, made[i], count[id])
		}
	}
	// Each edit appended a unique token; each must appear exactly once.
	all := ""
	for _, s := range final.Sections {
		all += s.Text
	}
	everyTokenOnce(t, all, "w", made)
}
