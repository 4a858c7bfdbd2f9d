package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestPresenceAcrossNodes: two server processes on one real Redis, an
// editor on each. Each sees where the other is, through the store's
// relay. One node is killed with SIGKILL (no farewell): the person who
// was on it disappears from the other's presence once the node has been
// silent for three beats of presence (PresenceBeat, 5 s).
func TestPresenceAcrossNodes(t *testing.T) {
	bin := buildBinary(t)
	redis := redistest.Start(t)
	acct := addAccountTo(t, bin, redis.URL)
	node := func() *proc {
		return startServer(t, bin, t.TempDir(), "--store", redis.URL)
	}
	a, b := node(), node()
	s := a.signIn(t, acct)
	var doc struct{ ID string }
	doJSON(t, s, "POST", a.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Presence"}, 201, &doc)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dial := func(p *proc, key string) *client.Client {
		c, err := client.Dial(ctx, p.url(""), doc.ID, client.Options{Key: key, Header: s.SocketHeader()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	onA, onB := dial(a, "presence-on-a-key-0123"), dial(b, "presence-on-b-key-0123")
	secs := onA.Sections()
	if len(secs) < 2 {
		t.Fatalf("the document has sections %v; the test needs two", secs)
	}
	sel := func(c *client.Client, sec string) []client.Range {
		n := min(3, editor.UTF16Len(c.Text(sec)))
		return []client.Range{{Anchor: 0, Head: n}}
	}
	wantA, wantB := sel(onA, secs[0]), sel(onB, secs[1])
	if err := onA.SetPresence(secs[0], wantA); err != nil {
		t.Fatal(err)
	}
	if err := onB.SetPresence(secs[1], wantB); err != nil {
		t.Fatal(err)
	}
	sees := func(c, other *client.Client, sec string, ranges []client.Range) func(*client.Client) bool {
		return func(*client.Client) bool {
			p, ok := c.Peers()[other.ID()]
			return ok && p.Section == sec && len(p.Ranges) == 1 && p.Ranges[0] == ranges[0]
		}
	}
	if err := onB.WaitFor(ctx, sees(onB, onA, secs[0], wantA)); err != nil {
		t.Fatalf("the editor on node b does not see the one on node a in %s: %v; sees %+v", secs[0], err, onB.Peers())
	}
	if err := onA.WaitFor(ctx, sees(onA, onB, secs[1], wantB)); err != nil {
		t.Fatalf("the editor on node a does not see the one on node b in %s: %v; sees %+v", secs[1], err, onA.Peers())
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	killed := time.Now()
	// The guard is generous; the beats say 15 to 20 s.
	gctx, gcancel := context.WithTimeout(ctx, time.Minute)
	defer gcancel()
	if err := onB.WaitFor(gctx, func(c *client.Client) bool {
		_, ok := c.Peers()[onA.ID()]
		return !ok
	}); err != nil {
		t.Fatalf("the editor of the killed node is still present on node b: %v", err)
	}
	t.Logf("the killed node's editor left node b's presence %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	if onB.Closed() {
		t.Fatalf("the editor on node b was disconnected: %v", onB.Err())
	}
}
