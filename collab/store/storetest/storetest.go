// Package storetest holds the conformance suites of package store, one per
// capability, and Faulty, a store with faults injected for other packages'
// failure tests.
//
// A backend's tests call the suite of each capability it implements:
//
//	storetest.RunCatalog(t, newCatalog)         // store.Catalog
//	storetest.RunDocLog(t, newDocLog)           // store.DocLog
//	storetest.RunAccounts(t, newAccounts)       // store.Accounts
//	storetest.RunSessions(t, newSessions)       // store.Sessions
//	storetest.RunInvitations(t, newInvitations) // store.Invitations
//	storetest.RunAudit(t, newAudit)             // store.Audit
//	storetest.RunVersions(t, newVersions)       // store.Versions
//	storetest.RunNotifier(t, newNotifier)       // store.Notifier
//	storetest.RunRelay(t, newRelay)             // store.Relay
//	storetest.Run(t, newStore)                  // a full store.Store: all of the above
//
// Every check is a named subtest, so one can be run alone with -run. Tests
// with random choices log their seed; set BPFDRAFT_TEST_SEED to repeat one.
// Nothing waits on the wall clock: goroutines meet on channels, and the only
// timer is a guard that turns a hang into a failure. Expiry is tested with
// the times the methods take, never with the clock.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// NewStore returns an empty store for one subtest. The suite closes it.
type NewStore func(t *testing.T) store.Store

// NewCatalog returns an empty catalog for one subtest; it releases what it
// holds with t.Cleanup.
type NewCatalog func(t *testing.T) store.Catalog

// DocLogStore is what RunDocLog tests: a DocLog, and a way to create the
// documents whose logs it keeps (store.Catalog's CreateDocument contract).
type DocLogStore interface {
	store.DocLog
	CreateDocument(ctx context.Context, doc *editor.Document) error
}

// NewDocLog returns an empty DocLogStore for one subtest; it releases what
// it holds with t.Cleanup.
type NewDocLog func(t *testing.T) DocLogStore

// NotifierStore is what RunNotifier tests: a notifier and the log whose
// appends it tells.
type NotifierStore interface {
	DocLogStore
	store.Notifier
}

// NewNotifier returns two handles on one empty backend, as two engines
// sharing it hold them: two clients of one Redis, or one bbolt Store twice
// (a bbolt file is opened once per process). Each test watches through a
// and appends through b, and also through a. It releases what it holds
// with t.Cleanup.
type NewNotifier func(t *testing.T) (a, b NotifierStore)

type subtest[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

func runAll[S any](t *testing.T, newS func(t *testing.T) S, tests []subtest[S]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newS(t)) })
	}
}

// Run runs every suite a full store must pass, each under its own name
// (Catalog, DocLog, Accounts, Sessions, Invitations, Audit, Versions,
// Notifier, Relay, Store), the Notifier and Relay ones only when the store
// implements store.Notifier or store.Relay. It runs those two suites with
// one handle twice; a backend with several clients also calls RunNotifier
// and RunRelay with two.
func Run(t *testing.T, newStore NewStore) {
	fresh := func(t *testing.T) store.Store {
		s := newStore(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("Catalog", func(t *testing.T) {
		RunCatalog(t, func(t *testing.T) store.Catalog { return fresh(t) })
	})
	t.Run("DocLog", func(t *testing.T) {
		RunDocLog(t, func(t *testing.T) DocLogStore { return fresh(t) })
	})
	t.Run("Accounts", func(t *testing.T) {
		RunAccounts(t, func(t *testing.T) store.Accounts { return fresh(t) })
	})
	t.Run("Sessions", func(t *testing.T) {
		RunSessions(t, func(t *testing.T) store.Sessions { return fresh(t) })
	})
	t.Run("Invitations", func(t *testing.T) {
		RunInvitations(t, func(t *testing.T) store.Invitations { return fresh(t) })
	})
	t.Run("Audit", func(t *testing.T) {
		RunAudit(t, func(t *testing.T) store.Audit { return fresh(t) })
	})
	t.Run("Versions", func(t *testing.T) {
		RunVersions(t, func(t *testing.T) VersionsStore { return fresh(t) })
	})
	t.Run("Notifier", func(t *testing.T) {
		if _, ok := fresh(t).(store.Notifier); !ok {
			t.Skip("the store does not implement store.Notifier")
		}
		RunNotifier(t, func(t *testing.T) (a, b NotifierStore) {
			s := fresh(t).(NotifierStore)
			return s, s
		})
	})
	t.Run("Relay", func(t *testing.T) {
		if _, ok := fresh(t).(store.Relay); !ok {
			t.Skip("the store does not implement store.Relay")
		}
		RunRelay(t, func(t *testing.T) (a, b store.Relay) {
			s := fresh(t).(store.Relay)
			return s, s
		})
	})
	t.Run("Store", func(t *testing.T) {
		runAll(t, fresh, []subtest[store.Store]{
			{"ListingFollowsSnapshot", testListingFollowsSnapshot},
			{"Ping", testPing},
			{"Closed", testClosed},
		})
	})
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func newDoc(id, bpf string) *editor.Document {
	d := &editor.Document{
		ID: id, BPF: bpf, Template: "bpf-output", Title: "Draft " + id,
		Sections: []editor.Section{
			{ID: "issues", Title: "Definition", Kind: editor.Required, Text: "One.\n\nTwo."},
			{ID: "insights", Title: "Insights", Kind: editor.Recommended},
		},
		Created: t0, Updated: t0,
	}
	d.AssignParagraphIDs()
	return d
}

func textUpdates(from int64, n int, client string) []store.Update {
	ups := make([]store.Update, n)
	for i := range ups {
		seq := from + int64(i)
		ups[i] = store.Update{
			Seq: seq, Section: "issues", Version: int(seq), ClientID: client, Author: "ana",
			Changes: json.RawMessage(fmt.Sprintf(`[%d,[0,"x"]]`, seq)), Time: t0.Add(time.Duration(seq) * time.Second),
		}
	}
	return ups
}

func assertUpdates(t *testing.T, got, want []store.Update) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d updates; want %d", len(got), len(want))
	}
	for i := range want {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if string(g) != string(w) {
			t.Fatalf("update %d: got %s; want %s", i, g, w)
		}
	}
}

// seeded returns a random source for one test and logs its seed.
func seeded(t *testing.T) *rand.Rand {
	t.Helper()
	seed := testseed.Seed(t)
	return rand.New(rand.NewPCG(seed, seed))
}

// guard is how long a test waits for something that should happen at once
// before it fails instead of hanging; no test waits on it otherwise.
const guard = time.Minute

func mustCreate(t *testing.T, s DocLogStore, doc *editor.Document) {
	t.Helper()
	if err := s.CreateDocument(context.Background(), doc); err != nil {
		t.Fatalf("CreateDocument(%s): %v", doc.ID, err)
	}
}

func mustAppend(t *testing.T, s store.DocLog, id string, expect int64, ups []store.Update) {
	t.Helper()
	if err := s.Append(context.Background(), id, expect, ups); err != nil {
		t.Fatalf("Append(%s, %d): %v", id, expect, err)
	}
}

func testListingFollowsSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := newDoc("d", "")
	if err := s.CreateDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "d", 0, textUpdates(1, 30, "c1"))
	d.Seq = 20
	d.Title = "Renamed"
	if err := s.PutSnapshot(ctx, d, 5); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListDocuments(ctx, ""); len(list) != 1 || list[0].Title != "Renamed" || list[0].Seq != 20 {
		t.Fatalf("ListDocuments after snapshot = %+v; want the new title and seq", list)
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close = %v; want ErrClosed", err)
	}
	if _, err := s.LoadSnapshot(ctx, "d"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("LoadSnapshot after Close = %v; want ErrClosed", err)
	}
	if _, err := s.ListDocuments(ctx, ""); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ListDocuments after Close = %v; want ErrClosed", err)
	}
	if _, err := s.GetAccount(ctx, "a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetAccount after Close = %v; want ErrClosed", err)
	}
	if err := s.CreateAccount(ctx, account("a", "a@example.org", 0)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CreateAccount after Close = %v; want ErrClosed", err)
	}
	if _, err := s.GetSession(ctx, "h", t0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetSession after Close = %v; want ErrClosed", err)
	}
	if _, err := s.TakeInvitation(ctx, "i", "a", t0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("TakeInvitation after Close = %v; want ErrClosed", err)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{Time: t0, Action: "sign-in"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("AppendAudit after Close = %v; want ErrClosed", err)
	}
	if _, err := s.ListAudit(ctx, store.AuditFilter{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ListAudit after Close = %v; want ErrClosed", err)
	}
}
