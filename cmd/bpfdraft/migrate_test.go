package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/loadgen"
)

// TestMigrateToRedis: an installation on bbolt — a BPF, a document with
// edits, a comment and a named version, an account, an invitation, its
// audit log — is moved into a real Redis with bpfdraft migrate, and a
// server on that Redis answers every read as the old one did, signs the
// same account in and goes on editing the document where it stopped.
func TestMigrateToRedis(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	acct := addAccount(t, bin, data)
	p := startServer(t, bin, data, "--edits-per-minute", "0")
	s := p.signIn(t, acct)
	var bpf, doc struct{ ID string }
	doJSON(t, s, "POST", p.url("/api/bpfs"), map[string]any{"name": "BPF Cybersecurity", "year": 2026}, 201, &bpf)
	doJSON(t, s, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Moved", "bpf": bpf.ID}, 201, &doc)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, p.url(""), doc.ID, client.Options{Key: "migrate-writer-key", Header: s.SocketHeader()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := c.Edit("issues", func(text string) []editor.Change {
			n := editor.UTF16Len(text)
			return []editor.Change{{From: n, To: n, Insert: fmt.Sprintf("word%d ", i)}}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	base := "/api/documents/" + doc.ID
	doJSON(t, s, "POST", p.url(base+"/comments"), map[string]any{"section": "issues", "text": "Shorter, please."}, 201, nil)
	doJSON(t, s, "POST", p.url(base+"/versions"), map[string]any{"name": "before the move"}, 201, nil)
	doJSON(t, s, "POST", p.url("/api/bpfs/"+bpf.ID+"/invitations"), map[string]any{"role": "co-facilitator", "note": "Ana"}, 201, nil)

	reads := []string{"/api/bpfs", "/api/documents", base, base + "/comments", base + "/versions", base + "/history?limit=1000",
		base + "/export?format=md", base + "/changes?from=0&to=live", "/api/bpfs/" + bpf.ID + "/invitations"}
	get := func(srv *proc, sess loadgen.Session, path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.url(path), nil)
		req.Header = sess.Header()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	// What the installation answers once stopped (its last snapshot
	// written) and started again.
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p = startServer(t, bin, data)
	s = p.signIn(t, acct)
	before := map[string]string{}
	for _, path := range reads {
		before[path] = get(p, s, path)
	}
	var audit struct{ Entries []map[string]any }
	doJSON(t, s, "GET", p.url("/api/audit"), nil, 200, &audit)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// To one Redis, and to a Redis Cluster of three masters.
	for _, to := range []struct{ name, url string }{
		{"redis", redistest.Start(t).URL},
		{"cluster", redistest.StartCluster(t, 3).URL},
	} {
		t.Run(to.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), []string{"migrate", "--data", data, "--to", to.url}, nil, &stdout, &stderr, func(string) string { return "" }); code != 0 {
				t.Fatalf("migrate: exit %d\n%s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "moved 1 BPFs, 1 documents") || !strings.Contains(stderr.String(), "document 1 of 1: "+doc.ID) {
				t.Fatalf("migrate said:\n%s\n%s", stdout.String(), stderr.String())
			}
			// Again: the destination is not empty any more.
			stderr.Reset()
			if code := run(t.Context(), []string{"migrate", "--data", data, "--to", to.url, "--quiet"}, nil, &stdout, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "not empty") {
				t.Fatalf("a second migrate: exit %d\n%s", code, stderr.String())
			}

			q := startServer(t, bin, t.TempDir(), "--store", to.url, "--edits-per-minute", "0")
			s2 := q.signIn(t, acct)
			for _, path := range reads {
				if got := get(q, s2, path); got != before[path] {
					t.Errorf("%s on Redis:\n%s\nwas on bbolt:\n%s", path, got, before[path])
				}
			}
			var moved struct{ Entries []map[string]any }
			doJSON(t, s2, "GET", q.url("/api/audit"), nil, 200, &moved)
			if len(moved.Entries) <= len(audit.Entries) || fmt.Sprint(moved.Entries[:len(audit.Entries)]) != fmt.Sprint(audit.Entries) {
				t.Errorf("the audit log on Redis does not begin with the one on bbolt (%d entries, then %d)", len(audit.Entries), len(moved.Entries))
			}
			// Editing goes on from where it stopped.
			c2, err := client.Dial(ctx, q.url(""), doc.ID, client.Options{Key: "migrate-writer-key", Header: s2.SocketHeader()})
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			if !strings.HasSuffix(c2.Text("issues"), "word19 ") {
				t.Fatalf("the moved text: %q", c2.Text("issues"))
			}
			if err := c2.Edit("issues", func(text string) []editor.Change {
				n := editor.UTF16Len(text)
				return []editor.Change{{From: n, To: n, Insert: "after the move"}}
			}); err != nil {
				t.Fatal(err)
			}
			if err := c2.WaitConfirmed(ctx); err != nil {
				t.Fatal(err)
			}
			var after struct {
				Sections []struct{ ID, Text string }
			}
			doJSON(t, s2, "GET", q.url(base), nil, 200, &after)
			if !strings.HasSuffix(after.Sections[0].Text, "word19 after the move") {
				t.Fatalf("after an edit on Redis: %q", after.Sections[0].Text)
			}
		})
	}
}
