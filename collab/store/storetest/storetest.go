// Package storetest is the conformance suite every store.Store backend
// passes: storetest.Run(t, newStore) from the backend's own tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// NewStore returns an empty store for one subtest. The suite closes it.
type NewStore func(t *testing.T) store.Store

// Run runs every conformance test as a named subtest.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"BPFs", testBPFs},
		{"CreateAndLoad", testCreateAndLoad},
		{"ListDocuments", testListDocuments},
		{"AppendAndRead", testAppendAndRead},
		{"AppendConflict", testAppendConflict},
		{"AppendNumbering", testAppendNumbering},
		{"ConcurrentAppend", testConcurrentAppend},
		{"SnapshotAndCompaction", testSnapshot},
		{"NotFound", testNotFound},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
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

func testBPFs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := &editor.BPF{ID: "b1", Name: "Cybersecurity", Year: 2026, MeetingDate: "2026-06-23", Created: t0}
	b := &editor.BPF{ID: "b2", Name: "AI", Year: 2025, Created: t0}
	for _, x := range []*editor.BPF{a, b} {
		if err := s.PutBPF(ctx, x); err != nil {
			t.Fatalf("PutBPF(%s): %v", x.ID, err)
		}
	}
	if err := s.PutBPF(ctx, &editor.BPF{ID: "b1", Name: "Other", Year: 2026}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("PutBPF(duplicate) = %v; want ErrExists", err)
	}
	got, err := s.GetBPF(ctx, "b1")
	if err != nil || *got != *a {
		t.Fatalf("GetBPF = %+v, %v; want %+v", got, err, a)
	}
	list, err := s.ListBPFs(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "b2" || list[1].ID != "b1" {
		t.Fatalf("ListBPFs = %v, %v; want b2, b1 (by year)", list, err)
	}
}

func testCreateAndLoad(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := newDoc("d1", "b1")
	if err := s.CreateDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDocument(ctx, newDoc("d1", "b1")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateDocument(duplicate) = %v; want ErrExists", err)
	}
	got, err := s.LoadSnapshot(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(d)
	if string(gj) != string(wj) {
		t.Fatalf("LoadSnapshot got %s; want %s", gj, wj)
	}
	if head, err := s.Head(ctx, "d1"); err != nil || head != 0 {
		t.Fatalf("Head = %d, %v; want 0", head, err)
	}
	ups, err := s.ReadUpdates(ctx, "d1", 0, 0)
	if err != nil || len(ups) != 0 {
		t.Fatalf("ReadUpdates on a new document = %v, %v; want none", ups, err)
	}
}

func testListDocuments(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		d := newDoc(id, map[bool]string{true: "b1", false: "b2"}[i != 1])
		d.Created = t0.Add(time.Duration(i) * time.Hour)
		if err := s.CreateDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListDocuments(ctx, "")
	if err != nil || len(all) != 3 || all[0].ID != "a" || all[2].ID != "c" {
		t.Fatalf("ListDocuments(all) = %+v, %v; want a, b, c", all, err)
	}
	b1, err := s.ListDocuments(ctx, "b1")
	if err != nil || len(b1) != 2 || b1[0].ID != "a" || b1[1].ID != "c" {
		t.Fatalf("ListDocuments(b1) = %+v, %v; want a, c", b1, err)
	}
	if b1[0].Title != "Draft a" || b1[0].Template != "bpf-output" {
		t.Fatalf("DocInfo = %+v; want title and template", b1[0])
	}
}

func testAppendAndRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateDocument(ctx, newDoc("d", "")); err != nil {
		t.Fatal(err)
	}
	want := textUpdates(1, 25, "c1")
	if err := s.Append(ctx, "d", 0, want[:10]); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", 10, want[10:]); err != nil {
		t.Fatal(err)
	}
	if head, _ := s.Head(ctx, "d"); head != 25 {
		t.Fatalf("Head = %d; want 25", head)
	}
	got, err := s.ReadUpdates(ctx, "d", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, got, want)
	got, err = s.ReadUpdates(ctx, "d", 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, got, want[20:])
	got, err = s.ReadUpdates(ctx, "d", 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, got, want[5:8])
	got, err = s.ReadUpdates(ctx, "d", 25, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadUpdates after head = %v, %v; want none", got, err)
	}
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

func testAppendConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateDocument(ctx, newDoc("d", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", 0, textUpdates(1, 3, "c1")); err != nil {
		t.Fatal(err)
	}
	// A second writer that believes the head is still 0 must fail whole.
	if err := s.Append(ctx, "d", 0, textUpdates(1, 2, "c2")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append at a stale head = %v; want ErrVersionConflict", err)
	}
	if err := s.Append(ctx, "d", 5, textUpdates(6, 1, "c2")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append past the head = %v; want ErrVersionConflict", err)
	}
	got, _ := s.ReadUpdates(ctx, "d", 0, 0)
	assertUpdates(t, got, textUpdates(1, 3, "c1"))
}

func testAppendNumbering(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateDocument(ctx, newDoc("d", "")); err != nil {
		t.Fatal(err)
	}
	bad := textUpdates(1, 3, "c1")
	bad[2].Seq = 7
	if err := s.Append(ctx, "d", 0, bad); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append with a gap = %v; want ErrVersionConflict", err)
	}
	if head, _ := s.Head(ctx, "d"); head != 0 {
		t.Fatalf("Head after a refused append = %d; want 0", head)
	}
}

func testConcurrentAppend(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateDocument(ctx, newDoc("d", "")); err != nil {
		t.Fatal(err)
	}
	// Writers race for each next slot; exactly one wins each.
	const writers, rounds = 4, 20
	var mu sync.Mutex
	won := map[int64]string{}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				head, err := s.Head(ctx, "d")
				if err != nil {
					t.Error(err)
					return
				}
				err = s.Append(ctx, "d", head, textUpdates(head+1, 1, name))
				if err == nil {
					mu.Lock()
					if prev, dup := won[head+1]; dup {
						t.Errorf("seq %d appended by %s and %s", head+1, prev, name)
					}
					won[head+1] = name
					mu.Unlock()
				} else if !errors.Is(err, store.ErrVersionConflict) {
					t.Error(err)
					return
				}
			}
		}(fmt.Sprintf("w%d", w))
	}
	wg.Wait()
	got, err := s.ReadUpdates(ctx, "d", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(won) {
		t.Fatalf("log has %d updates; %d appends succeeded", len(got), len(won))
	}
	for i, u := range got {
		if u.Seq != int64(i+1) || u.ClientID != won[u.Seq] {
			t.Fatalf("update %d = seq %d by %s; want seq %d by %s", i, u.Seq, u.ClientID, i+1, won[int64(i+1)])
		}
	}
}

func testSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := newDoc("d", "")
	if err := s.CreateDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", 0, textUpdates(1, 30, "c1")); err != nil {
		t.Fatal(err)
	}
	d.Seq = 31
	if err := s.PutSnapshot(ctx, d, 0); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("PutSnapshot past the head = %v; want ErrVersionConflict", err)
	}
	d.Seq = 20
	d.Title = "Renamed"
	d.Sections[0].Text = "One changed.\n\nTwo."
	if err := s.PutSnapshot(ctx, d, 5); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadSnapshot(ctx, "d")
	if err != nil || got.Seq != 20 || got.Sections[0].Text != "One changed.\n\nTwo." {
		t.Fatalf("LoadSnapshot = %+v, %v; want the snapshot at 20", got, err)
	}
	if list, _ := s.ListDocuments(ctx, ""); len(list) != 1 || list[0].Title != "Renamed" || list[0].Seq != 20 {
		t.Fatalf("ListDocuments after snapshot = %+v; want the new title and seq", list)
	}
	// The newest 5 updates the snapshot covers are kept (16..20), older are gone.
	if _, err := s.ReadUpdates(ctx, "d", 14, 0); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("ReadUpdates(after 14) = %v; want ErrCompacted", err)
	}
	ups, err := s.ReadUpdates(ctx, "d", 15, 0)
	if err != nil || len(ups) != 15 || ups[0].Seq != 16 {
		t.Fatalf("ReadUpdates(after 15) = %d updates, %v; want 15 from 16", len(ups), err)
	}
	// An older snapshot never replaces a newer one.
	d.Seq = 10
	d.Title = "Old"
	if err := s.PutSnapshot(ctx, d, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadSnapshot(ctx, "d"); got.Seq != 20 {
		t.Fatalf("an older snapshot replaced the newer: seq %d", got.Seq)
	}
	if err := s.Append(ctx, "d", 30, textUpdates(31, 1, "c1")); err != nil {
		t.Fatalf("Append after compaction: %v", err)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s = %v; want ErrNotFound", name, err)
		}
	}
	_, err := s.GetBPF(ctx, "nope")
	check("GetBPF", err)
	_, err = s.LoadSnapshot(ctx, "nope")
	check("LoadSnapshot", err)
	_, err = s.Head(ctx, "nope")
	check("Head", err)
	check("Append", s.Append(ctx, "nope", 0, textUpdates(1, 1, "c")))
	_, err = s.ReadUpdates(ctx, "nope", 0, 0)
	check("ReadUpdates", err)
	check("PutSnapshot", s.PutSnapshot(ctx, newDoc("nope", ""), 0))
	if err := s.Ping(ctx); err != nil {
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
}
