package storetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

func newFaulty(t *testing.T) *storetest.Faulty {
	t.Helper()
	s, err := boltstore.Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return storetest.NewFaulty(s)
}

// With no faults set, a Faulty is the store it wraps.
func TestFaultyConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFaulty(t) })
}

var at = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func ups(from int64, n int, client string) []store.Update {
	out := make([]store.Update, n)
	for i := range out {
		out[i] = store.Update{Seq: from + int64(i), ClientID: client, Changes: json.RawMessage(`[1]`), Time: at}
	}
	return out
}

func withDoc(t *testing.T) *storetest.Faulty {
	t.Helper()
	f := newFaulty(t)
	if err := f.CreateDocument(context.Background(), &editor.Document{ID: "d", Title: "D", Created: at}); err != nil {
		t.Fatal(err)
	}
	return f
}

func head(t *testing.T, f *storetest.Faulty) int64 {
	t.Helper()
	h, err := f.Store.Head(context.Background(), "d")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFaultyNext(t *testing.T) {
	ctx := context.Background()
	f := withDoc(t)
	errA, errB := errors.New("disk full"), errors.New("network down")
	f.Next(storetest.OpAppend, storetest.Fault{Err: errA})
	f.Next(storetest.OpAppend, storetest.Fault{Err: errB})
	if err := f.Append(ctx, "d", 0, ups(1, 1, "c")); err != errA {
		t.Fatalf("first Append = %v; want %v", err, errA)
	}
	if err := f.Append(ctx, "d", 0, ups(1, 1, "c")); err != errB {
		t.Fatalf("second Append = %v; want %v", err, errB)
	}
	if h := head(t, f); h != 0 {
		t.Fatalf("Head after failed appends = %d; want 0", h)
	}
	if err := f.Append(ctx, "d", 0, ups(1, 1, "c")); err != nil {
		t.Fatalf("third Append = %v; want nil", err)
	}
	if n := f.Calls(storetest.OpAppend); n != 3 {
		t.Fatalf("Calls(Append) = %d; want 3", n)
	}
}

func TestFaultyEvery(t *testing.T) {
	ctx := context.Background()
	f := withDoc(t)
	f.Every(storetest.OpLoadSnapshot, storetest.Fault{Err: store.ErrCorrupt})
	f.Next(storetest.OpLoadSnapshot, storetest.Fault{Err: store.ErrClosed})
	for i, want := range []error{store.ErrClosed, store.ErrCorrupt, store.ErrCorrupt} {
		if _, err := f.LoadSnapshot(ctx, "d"); err != want {
			t.Fatalf("LoadSnapshot %d = %v; want %v", i, err, want)
		}
	}
	// Other methods are untouched.
	if _, err := f.ReadUpdates(ctx, "d", 0, 0); err != nil {
		t.Fatal(err)
	}
	f.Clear(storetest.OpLoadSnapshot)
	if _, err := f.LoadSnapshot(ctx, "d"); err != nil {
		t.Fatalf("LoadSnapshot after Clear = %v", err)
	}
}

// A second writer appends between the caller's read of the head and its
// append: the append meets a real version conflict.
func TestFaultyAnotherWriter(t *testing.T) {
	ctx := context.Background()
	f := withDoc(t)
	f.Next(storetest.OpAppend, storetest.Fault{Before: func(c storetest.Call) {
		if err := f.Store.Append(c.Ctx, c.ID, c.Seq, ups(c.Seq+1, 2, "other")); err != nil {
			t.Error(err)
		}
	}})
	h, _ := f.Head(ctx, "d")
	if err := f.Append(ctx, "d", h, ups(h+1, 1, "me")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("Append = %v; want ErrVersionConflict", err)
	}
	got, err := f.ReadUpdates(ctx, "d", 0, 0)
	if err != nil || len(got) != 2 || got[0].ClientID != "other" {
		t.Fatalf("log = %+v, %v; want the other writer's 2 updates", got, err)
	}
}

func TestFaultyHold(t *testing.T) {
	ctx := context.Background()
	f := withDoc(t)
	held, release := f.Hold(storetest.OpAppend)
	done := make(chan error)
	go func() { done <- f.Append(ctx, "d", 0, ups(1, 1, "c")) }()
	c := <-held
	if c.Op != storetest.OpAppend || c.ID != "d" || c.Seq != 0 {
		t.Fatalf("held %+v; want Append of d at 0", c)
	}
	if h := head(t, f); h != 0 {
		t.Fatalf("Head while the append is held = %d; want 0", h)
	}
	release()
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := head(t, f); h != 1 {
		t.Fatalf("Head after release = %d; want 1", h)
	}
}

func TestFaultyWaitEndsWithContext(t *testing.T) {
	f := withDoc(t)
	ctx, cancel := context.WithCancel(context.Background())
	held, _ := f.Hold(storetest.OpPutSnapshot)
	done := make(chan error)
	go func() { done <- f.PutSnapshot(ctx, &editor.Document{ID: "d"}, 0) }()
	<-held
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("PutSnapshot = %v; want context.Canceled", err)
	}
}
