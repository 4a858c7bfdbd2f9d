package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// RunDocLog runs the conformance tests of store.DocLog as named subtests:
//
//   - CreateAndLoad: a created document loads as it was stored, at head 0,
//     with an empty log starting at 1; ErrExists on a taken id.
//   - ImportedStart: a document created at seq 7 has head 7, LogStart 8 and
//     takes appends at 7 only.
//   - AppendAndRead: appends in batches read back whole, from any point,
//     with a limit, and none after the head.
//   - AppendNothing: an empty append changes nothing.
//   - AppendConflict: an append at a stale or future head is refused whole.
//   - AppendNumbering: updates not numbered from expectSeq+1 without gaps
//     are refused.
//   - ConcurrentAppend: writers racing for each next slot; each slot won
//     once, the log is exactly the winners' updates.
//   - ConcurrentSameSeq (random): several writers append batches of
//     different sizes at the same expected seq at once; exactly one wins,
//     every other gets ErrVersionConflict, and the log holds the winner's
//     batch and nothing of the others.
//   - SnapshotAndCompaction: a snapshot past the head is refused; a newer
//     one replaces the old, drops what it covers but the newest keep; an
//     older one is ignored; appends go on after compaction.
//   - LogStart: LogStart through snapshots with small, large, zero and
//     negative keep; it never goes back, ReadUpdates(LogStart-1) always
//     succeeds and ReadUpdates(LogStart-2) is ErrCompacted.
//   - HistoryAtSnapshot: after a snapshot with keep, the updates at and
//     before the snapshot's seq are read back intact from LogStart, whole
//     and in pages, as an engine rebuilding its history does.
//   - RandomModel (random): a random sequence of appends (some at a wrong
//     seq), snapshots (some past the head, some older) and reads, each
//     checked against a model of the contract, with Head and LogStart after
//     every step.
//   - NotFound: every method on an unknown document is ErrNotFound.
func RunDocLog(t *testing.T, newDocLog NewDocLog) {
	runAll(t, newDocLog, []subtest[DocLogStore]{
		{"CreateAndLoad", testCreateAndLoad},
		{"ImportedStart", testImportedStart},
		{"AppendAndRead", testAppendAndRead},
		{"AppendNothing", testAppendNothing},
		{"AppendConflict", testAppendConflict},
		{"AppendNumbering", testAppendNumbering},
		{"ConcurrentAppend", testConcurrentAppend},
		{"ConcurrentSameSeq", testConcurrentSameSeq},
		{"SnapshotAndCompaction", testSnapshot},
		{"SnapshotAnnotations", testSnapshotAnnotations},
		{"LogStart", testLogStart},
		{"HistoryAtSnapshot", testHistoryAtSnapshot},
		{"RandomModel", testRandomModel},
		{"NotFound", testNotFound},
	})
}

func testCreateAndLoad(t *testing.T, s DocLogStore) {
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
	if first, err := s.LogStart(ctx, "d1"); err != nil || first != 1 {
		t.Fatalf("LogStart = %d, %v; want 1", first, err)
	}
	ups, err := s.ReadUpdates(ctx, "d1", 0, 0)
	if err != nil || len(ups) != 0 {
		t.Fatalf("ReadUpdates on a new document = %v, %v; want none", ups, err)
	}
}

func testImportedStart(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	d := newDoc("d", "")
	d.Seq = 7
	mustCreate(t, s, d)
	if head, err := s.Head(ctx, "d"); err != nil || head != 7 {
		t.Fatalf("Head = %d, %v; want 7", head, err)
	}
	if first, err := s.LogStart(ctx, "d"); err != nil || first != 8 {
		t.Fatalf("LogStart = %d, %v; want 8", first, err)
	}
	if err := s.Append(ctx, "d", 0, textUpdates(1, 1, "c1")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append at 0 = %v; want ErrVersionConflict", err)
	}
	mustAppend(t, s, "d", 7, textUpdates(8, 2, "c1"))
	got, err := s.ReadUpdates(ctx, "d", 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, got, textUpdates(8, 2, "c1"))
}

func testAppendAndRead(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	mustCreate(t, s, newDoc("d", ""))
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
	got, err = s.ReadUpdates(ctx, "d", 40, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadUpdates past head = %v, %v; want none", got, err)
	}
}

func testAppendNothing(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	mustCreate(t, s, newDoc("d", ""))
	mustAppend(t, s, "d", 0, textUpdates(1, 2, "c1"))
	if err := s.Append(ctx, "d", 2, nil); err != nil {
		t.Fatalf("Append of nothing = %v; want nil", err)
	}
	if head, _ := s.Head(ctx, "d"); head != 2 {
		t.Fatalf("Head after appending nothing = %d; want 2", head)
	}
}

func testAppendConflict(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	mustCreate(t, s, newDoc("d", ""))
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

func testAppendNumbering(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	mustCreate(t, s, newDoc("d", ""))
	bad := textUpdates(1, 3, "c1")
	bad[2].Seq = 7
	if err := s.Append(ctx, "d", 0, bad); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append with a gap = %v; want ErrVersionConflict", err)
	}
	if head, _ := s.Head(ctx, "d"); head != 0 {
		t.Fatalf("Head after a refused append = %d; want 0", head)
	}
}

func testConcurrentAppend(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	mustCreate(t, s, newDoc("d", ""))
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

func testConcurrentSameSeq(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	rnd := seeded(t)
	mustCreate(t, s, newDoc("d", ""))
	var head int64
	for round := range 10 {
		writers := 2 + rnd.IntN(5)
		batches := make([][]store.Update, writers)
		for w := range batches {
			batches[w] = textUpdates(head+1, 1+rnd.IntN(4), fmt.Sprintf("r%dw%d", round, w))
		}
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[w] = s.Append(ctx, "d", head, batches[w])
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both appended at %d", round, winner, w, head)
			case err == nil:
				winner = w
			case !errors.Is(err, store.ErrVersionConflict):
				t.Fatalf("round %d: writer %d: %v; want nil or ErrVersionConflict", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: all %d writers refused at %d", round, writers, head)
		}
		got, err := s.ReadUpdates(ctx, "d", head, 0)
		if err != nil {
			t.Fatal(err)
		}
		assertUpdates(t, got, batches[winner])
		head += int64(len(batches[winner]))
		if h, err := s.Head(ctx, "d"); err != nil || h != head {
			t.Fatalf("round %d: Head = %d, %v; want %d", round, h, err, head)
		}
	}
}

func testSnapshot(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	d := newDoc("d", "")
	mustCreate(t, s, d)
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
	if err != nil || got.Seq != 20 || got.Sections[0].Text != "One changed.\n\nTwo." || got.Title != "Renamed" {
		t.Fatalf("LoadSnapshot = %+v, %v; want the snapshot at 20", got, err)
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

// checkStart checks LogStart and that it is where reading becomes possible.
func checkStart(t *testing.T, s DocLogStore, id string, want int64) {
	t.Helper()
	ctx := context.Background()
	first, err := s.LogStart(ctx, id)
	if err != nil || first != want {
		t.Fatalf("LogStart = %d, %v; want %d", first, err, want)
	}
	head, err := s.Head(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := s.ReadUpdates(ctx, id, first-1, 0)
	if err != nil || int64(len(ups)) != head-first+1 {
		t.Fatalf("ReadUpdates(LogStart-1 = %d) = %d updates, %v; want %d", first-1, len(ups), err, head-first+1)
	}
	if len(ups) > 0 && ups[0].Seq != first {
		t.Fatalf("ReadUpdates(LogStart-1) starts at %d; want %d", ups[0].Seq, first)
	}
	if first >= 2 && head >= first-1 {
		if _, err := s.ReadUpdates(ctx, id, first-2, 0); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("ReadUpdates(LogStart-2 = %d) = %v; want ErrCompacted", first-2, err)
		}
	}
}

func testLogStart(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	d := newDoc("d", "")
	mustCreate(t, s, d)
	checkStart(t, s, "d", 1)
	mustAppend(t, s, "d", 0, textUpdates(1, 30, "c1"))
	checkStart(t, s, "d", 1)
	snap := func(seq int64, keep int) {
		t.Helper()
		d.Seq = seq
		if err := s.PutSnapshot(ctx, d, keep); err != nil {
			t.Fatalf("PutSnapshot(%d, keep %d): %v", seq, keep, err)
		}
	}
	snap(10, 100) // keeps more than it covers: nothing dropped
	checkStart(t, s, "d", 1)
	snap(20, 5)
	checkStart(t, s, "d", 16)
	snap(18, 0) // older: ignored, drops nothing
	checkStart(t, s, "d", 16)
	snap(25, 20) // would keep from 6: LogStart never goes back
	checkStart(t, s, "d", 16)
	snap(30, 0) // everything covered and dropped
	checkStart(t, s, "d", 31)
	mustAppend(t, s, "d", 30, textUpdates(31, 2, "c1"))
	checkStart(t, s, "d", 31)
	snap(32, -3) // counts as keep 0
	checkStart(t, s, "d", 33)
}

func testHistoryAtSnapshot(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	d := newDoc("d", "")
	mustCreate(t, s, d)
	all := textUpdates(1, 30, "c1")
	mustAppend(t, s, "d", 0, all)
	d.Seq = 20
	if err := s.PutSnapshot(ctx, d, 8); err != nil {
		t.Fatal(err)
	}
	// What an engine does after a restart: the snapshot, then every update
	// the log keeps, those at and before the snapshot's seq included.
	got, err := s.LoadSnapshot(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 20 {
		t.Fatalf("LoadSnapshot = seq %d; want 20", got.Seq)
	}
	first, err := s.LogStart(ctx, "d")
	if err != nil || first != 13 {
		t.Fatalf("LogStart = %d, %v; want 13", first, err)
	}
	history, err := s.ReadUpdates(ctx, "d", first-1, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, history, all[12:])
	// The same in pages.
	var paged []store.Update
	for after := first - 1; ; {
		page, err := s.ReadUpdates(ctx, "d", after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("ReadUpdates(limit 4) = %d updates", len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	assertUpdates(t, paged, all[12:])
	// Only what is after the snapshot.
	tail, err := s.ReadUpdates(ctx, "d", got.Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertUpdates(t, tail, all[20:])
}

func testRandomModel(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	rnd := seeded(t)
	d := newDoc("d", "")
	mustCreate(t, s, d)
	var (
		head, snapSeq int64
		first         int64          = 1
		log           []store.Update // log[i] has seq i+1
	)
	for step := range 150 {
		switch op := rnd.IntN(10); {
		case op < 5:
			expect := head
			if rnd.IntN(4) == 0 {
				expect = max(0, head+rnd.Int64N(7)-3)
			}
			ups := textUpdates(expect+1, 1+rnd.IntN(4), fmt.Sprintf("s%d", step))
			err := s.Append(ctx, "d", expect, ups)
			if expect != head {
				if !errors.Is(err, store.ErrVersionConflict) {
					t.Fatalf("step %d: Append at %d with head %d = %v; want ErrVersionConflict", step, expect, head, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: Append at %d: %v", step, head, err)
			}
			log = append(log, ups...)
			head += int64(len(ups))
		case op < 7:
			seq := rnd.Int64N(head + 2) // head+1 is past the head
			keep := rnd.IntN(8) - 1
			d.Seq = seq
			err := s.PutSnapshot(ctx, d, keep)
			if seq > head {
				if !errors.Is(err, store.ErrVersionConflict) {
					t.Fatalf("step %d: PutSnapshot(%d) with head %d = %v; want ErrVersionConflict", step, seq, head, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: PutSnapshot(%d, keep %d): %v", step, seq, keep, err)
			}
			if seq > snapSeq {
				snapSeq = seq
				first = max(first, seq-int64(max(keep, 0))+1)
			}
		default:
			after := first - 3 + rnd.Int64N(head-first+6)
			limit := rnd.IntN(6)
			got, err := s.ReadUpdates(ctx, "d", after, limit)
			switch {
			case after >= head:
				if err != nil || len(got) != 0 {
					t.Fatalf("step %d: ReadUpdates(%d) at head %d = %d updates, %v; want none", step, after, head, len(got), err)
				}
			case after+1 < first:
				if !errors.Is(err, store.ErrCompacted) {
					t.Fatalf("step %d: ReadUpdates(%d) with LogStart %d = %v; want ErrCompacted", step, after, first, err)
				}
			default:
				if err != nil {
					t.Fatalf("step %d: ReadUpdates(%d): %v", step, after, err)
				}
				end := head
				if limit > 0 {
					end = min(head, after+int64(limit))
				}
				assertUpdates(t, got, log[after:end])
			}
		}
		if h, err := s.Head(ctx, "d"); err != nil || h != head {
			t.Fatalf("step %d: Head = %d, %v; want %d", step, h, err, head)
		}
		if f, err := s.LogStart(ctx, "d"); err != nil || f != first {
			t.Fatalf("step %d: LogStart = %d, %v; want %d", step, f, err, first)
		}
	}
	got, err := s.LoadSnapshot(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != snapSeq {
		t.Fatalf("LoadSnapshot = seq %d; want %d", got.Seq, snapSeq)
	}
}

func testNotFound(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s = %v; want ErrNotFound", name, err)
		}
	}
	_, err := s.LoadSnapshot(ctx, "nope")
	check("LoadSnapshot", err)
	_, err = s.Head(ctx, "nope")
	check("Head", err)
	_, err = s.LogStart(ctx, "nope")
	check("LogStart", err)
	check("Append", s.Append(ctx, "nope", 0, textUpdates(1, 1, "c")))
	_, err = s.ReadUpdates(ctx, "nope", 0, 0)
	check("ReadUpdates", err)
	check("PutSnapshot", s.PutSnapshot(ctx, newDoc("nope", ""), 0))
}

// testSnapshotAnnotations: a snapshot keeps the document's annotations
// (its comments and their anchors, opaque to the store) byte for byte,
// and a later snapshot without any has none.
func testSnapshotAnnotations(t *testing.T, s DocLogStore) {
	ctx := context.Background()
	d := newDoc("d", "")
	mustCreate(t, s, d)
	if err := s.Append(ctx, "d", 0, textUpdates(1, 4, "c1")); err != nil {
		t.Fatal(err)
	}
	d.Seq = 2
	d.Annotations = json.RawMessage(`{"comments":[{"id":"c1","text":"Ünïcode, \"quoted\""}],"anchors":{"seq":2,"anchors":{}}}`)
	if err := s.PutSnapshot(ctx, d, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadSnapshot(ctx, "d")
	if err != nil || got.Seq != 2 || string(got.Annotations) != string(d.Annotations) {
		t.Fatalf("LoadSnapshot = %s, %v; want the annotations as stored", got.Annotations, err)
	}
	d.Seq, d.Annotations = 4, nil
	if err := s.PutSnapshot(ctx, d, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadSnapshot(ctx, "d"); err != nil || got.Annotations != nil {
		t.Fatalf("a snapshot without annotations loads with %s, %v", got.Annotations, err)
	}
}
