package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Each test starts one redis-server; its subtests share it, each under a
// key prefix of its own, so each starts from an empty store.

var prefixes atomic.Int64

// freshPrefix returns a key prefix no other test of this process uses.
func freshPrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

// openAt opens a Store on the Redis (or cluster) at url under prefix,
// closed when t ends.
func openAt(t testing.TB, url, prefix string) *Store {
	t.Helper()
	s, err := OpenWithOptions(context.Background(), url, Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	url := redistest.Start(t).URL
	storetest.Run(t, func(t *testing.T) store.Store { return openAt(t, url, freshPrefix()) })
}

// TestConformanceCluster runs the suite on a Redis Cluster of three
// masters: a script or transaction whose keys were not in one slot would
// be refused (CROSSSLOT), and a key on another node answered MOVED.
func TestConformanceCluster(t *testing.T) {
	url := redistest.StartCluster(t, 3).URL
	storetest.Run(t, func(t *testing.T) store.Store { return openAt(t, url, freshPrefix()) })
}

// TestNotifierAndRelayCluster runs the notifier and relay suites as two
// nodes hold a store on a Redis Cluster: the appends publish on one
// master, the watchers may be subscribed on another.
func TestNotifierAndRelayCluster(t *testing.T) {
	url := redistest.StartCluster(t, 3).URL
	open := func(t *testing.T, prefix string) *Store { return openAt(t, url, prefix) }
	t.Run("notifier", func(t *testing.T) {
		storetest.RunNotifier(t, func(t *testing.T) (a, b storetest.NotifierStore) {
			prefix := freshPrefix()
			return open(t, prefix), open(t, prefix)
		})
	})
	t.Run("relay", func(t *testing.T) {
		storetest.RunRelay(t, func(t *testing.T) (a, b store.Relay) {
			prefix := freshPrefix()
			return open(t, prefix), open(t, prefix)
		})
	})
}

// TestNotifierTwoClients runs the notifier suite as two nodes hold the
// store: two Stores, two connection pools, one Redis.
func TestNotifierTwoClients(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunNotifier(t, func(t *testing.T) (a, b storetest.NotifierStore) {
		prefix := freshPrefix()
		return openAt(t, srv.URL, prefix), openAt(t, srv.URL, prefix)
	})
}

// TestRelayTwoClients runs the relay suite as two nodes hold the store:
// two Stores, two connections, one Redis.
func TestRelayTwoClients(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunRelay(t, func(t *testing.T) (a, b store.Relay) {
		prefix := freshPrefix()
		return openAt(t, srv.URL, prefix), openAt(t, srv.URL, prefix)
	})
}

// TestPrefixesApart: two prefixes on one Redis are two stores.
func TestPrefixesApart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a, b := openAt(t, srv.URL, "a:"), openAt(t, srv.URL, "b:")
	if err := a.CreateDocument(ctx, &editor.Document{ID: "d", Title: "A", Created: at}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateDocument(ctx, &editor.Document{ID: "d", Title: "B", Created: at}); err != nil {
		t.Fatalf("CreateDocument under another prefix: %v", err)
	}
	if list, err := b.ListDocuments(ctx, ""); err != nil || len(list) != 1 || list[0].Title != "B" {
		t.Fatalf("ListDocuments under b: = %+v, %v; want B alone", list, err)
	}
}

func TestBadPrefix(t *testing.T) {
	if _, err := OpenWithOptions(context.Background(), "redis://127.0.0.1:1/0", Options{Prefix: "x{y}:"}); err == nil || !strings.Contains(err.Error(), "brace") {
		t.Fatalf("Open with a braced prefix = %v; want it refused", err)
	}
}

var at = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func updates(from int64, n int, client string) []store.Update {
	ups := make([]store.Update, n)
	for i := range ups {
		seq := from + int64(i)
		ups[i] = store.Update{Seq: seq, Section: "s", Version: int(seq), ClientID: client,
			Changes: json.RawMessage(fmt.Sprintf(`[%d,[0,"x"]]`, seq)), Time: at}
	}
	return ups
}

// TestCrashLosesNothing kills Redis (SIGKILL, no shutdown) after appends
// it confirmed, and finds every one of them, and the rest of what was
// written, once it is started again from its append-only file.
func TestCrashLosesNothing(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	prefix := freshPrefix()
	s := openAt(t, srv.URL, prefix)
	if err := s.CreateDocument(ctx, &editor.Document{ID: "d", Title: "Draft", Created: at}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for seq := int64(1); seq <= n; seq++ {
		if err := s.Append(ctx, "d", seq-1, updates(seq, 1, "c")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSnapshot(ctx, &editor.Document{ID: "d", Title: "Later", Seq: 150, Created: at}, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, &store.Account{ID: "a", Email: "a@example.org", Created: at}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil {
			t.Fatal(err)
		}
	}

	srv.Kill(t)
	srv.Restart(t)

	// A new Store, as a restarted node opens, and the old one, whose
	// connections all died with the server.
	for name, st := range map[string]*Store{"new": openAt(t, srv.URL, prefix), "old": s} {
		if head, err := st.Head(ctx, "d"); err != nil || head != n {
			t.Fatalf("%s store: Head after the crash = %d, %v; want %d", name, head, err, n)
		}
		ups, err := st.ReadUpdates(ctx, "d", 140, 0)
		if err != nil || len(ups) != n-140 || ups[0].Seq != 141 {
			t.Fatalf("%s store: ReadUpdates after the crash = %d updates, %v; want 141..%d", name, len(ups), err, n)
		}
		if first, err := st.LogStart(ctx, "d"); err != nil || first != 141 {
			t.Fatalf("%s store: LogStart after the crash = %d, %v; want 141", name, first, err)
		}
		if doc, err := st.LoadSnapshot(ctx, "d"); err != nil || doc.Title != "Later" {
			t.Fatalf("%s store: LoadSnapshot after the crash = %+v, %v", name, doc, err)
		}
		if a, err := st.AccountByEmail(ctx, "A@example.org"); err != nil || a.ID != "a" {
			t.Fatalf("%s store: AccountByEmail after the crash = %+v, %v", name, a, err)
		}
	}
	if seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil || seq != 4 {
		t.Fatalf("AppendAudit after the crash = %d, %v; want 4", seq, err)
	}
	if err := s.Append(ctx, "d", n, updates(n+1, 1, "c")); err != nil {
		t.Fatalf("Append after the crash: %v", err)
	}
}

// TestUnreachable: while Redis is down, calls fail within their context's
// deadline (they do not hang), Ping fails, and everything works again
// once it is back.
func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openAt(t, srv.URL, freshPrefix())
	if err := s.CreateDocument(ctx, &editor.Document{ID: "d", Created: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", 0, updates(1, 2, "c")); err != nil {
		t.Fatal(err)
	}

	srv.Kill(t)
	// Each call has a short deadline; the guard only turns a hang into a
	// failure.
	calls := map[string]func(ctx context.Context) error{
		"Append": func(ctx context.Context) error { return s.Append(ctx, "d", 2, updates(3, 1, "c")) },
		"LoadSnapshot": func(ctx context.Context) error {
			_, err := s.LoadSnapshot(ctx, "d")
			return err
		},
		"ReadUpdates": func(ctx context.Context) error {
			_, err := s.ReadUpdates(ctx, "d", 0, 0)
			return err
		},
		"Ping": s.Ping,
	}
	for name, call := range calls {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			done <- call(ctx)
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%s with Redis down succeeded", name)
			}
			if errors.Is(err, store.ErrVersionConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("%s with Redis down = %v; want an error that is none of the store's answers", name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s with Redis down did not return", name)
		}
	}
	if _, err := OpenWithOptions(ctx, srv.URL, Options{Prefix: freshPrefix()}); err == nil || !strings.Contains(err.Error(), srv.Addr) {
		t.Fatalf("Open with Redis down = %v; want an error naming %s", err, srv.Addr)
	}

	srv.Restart(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	if err := s.Append(ctx, "d", 2, updates(3, 1, "c")); err != nil {
		t.Fatalf("Append after restart: %v", err)
	}
	if doc, err := s.LoadSnapshot(ctx, "d"); err != nil || doc.ID != "d" {
		t.Fatalf("LoadSnapshot after restart = %+v, %v", doc, err)
	}
	if ups, err := s.ReadUpdates(ctx, "d", 0, 0); err != nil || len(ups) != 3 {
		t.Fatalf("ReadUpdates after restart = %d updates, %v; want 3", len(ups), err)
	}
}

// TestTurns: a writer whose append meets a version conflict takes the
// turn: another writer expecting the head it is now at is answered
// ErrBusy and writes nothing, until the turn-holder's append, which
// succeeds and ends the turn. A writer expecting an older head still
// meets a conflict. A turn nobody uses ends after TurnTTL.
func TestTurns(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	open := func(ttl time.Duration) *Store {
		s, err := OpenWithOptions(ctx, srv.URL, Options{Prefix: "T:", TurnTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b, c := open(time.Hour), open(time.Hour), open(time.Hour)
	raw := srv.Client(t)
	head := func() int64 {
		h, err := a.Head(ctx, "d")
		must(t, err)
		return h
	}
	newDocument(t, a, "d")
	must(t, a.Append(ctx, "d", 0, updates(1, 2, "a")))
	if err := b.Append(ctx, "d", 0, updates(1, 1, "b")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("b at a stale head: %v; want a version conflict", err)
	}
	if turn, _ := raw.Get(ctx, "T:{doc:d}:turn").Result(); turn != b.writer {
		t.Fatalf("the turn is %q; want b's (%q)", turn, b.writer)
	}
	// a is at the head but b has the turn.
	if err := a.Append(ctx, "d", 2, updates(3, 1, "a")); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("a during b's turn: %v; want ErrBusy", err)
	}
	// c is behind: a conflict, and the turn stays b's.
	if err := c.Append(ctx, "d", 1, updates(2, 1, "c")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("c at a stale head during b's turn: %v; want a version conflict", err)
	}
	if h := head(); h != 2 {
		t.Fatalf("head %d after refused appends; want 2", h)
	}
	must(t, b.Append(ctx, "d", 2, updates(3, 1, "b")))
	if n, _ := raw.Exists(ctx, "T:{doc:d}:turn").Result(); n != 0 {
		t.Fatal("the turn outlived its holder's append")
	}
	must(t, a.Append(ctx, "d", 3, updates(4, 1, "a")))
	ups, err := a.ReadUpdates(ctx, "d", 0, 0)
	must(t, err)
	var who []string
	for _, u := range ups {
		who = append(who, u.ClientID)
	}
	if got := strings.Join(who, ","); got != "a,a,b,a" {
		t.Fatalf("the log holds updates by %s; want a,a,b,a", got)
	}

	// A turn nobody uses ends: the writer that took it is gone.
	short := open(20 * time.Millisecond)
	if err := short.Append(ctx, "d", 0, updates(1, 1, "s")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("a stale append: %v; want a version conflict", err)
	}
	deadline := time.Now().Add(time.Minute) // a guard against hanging only
	for {
		err := a.Append(ctx, "d", 4, updates(5, 1, "a"))
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("a after an abandoned turn: %v; want ErrBusy until the turn ends, then success", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h := head(); h != 5 {
		t.Fatalf("head %d; want 5", h)
	}
}
