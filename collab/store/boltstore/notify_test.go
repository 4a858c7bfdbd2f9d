package boltstore

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
)

// The conformance suite waits for notifications; in a synctest bubble,
// synctest.Wait tells exactly when nothing more will come, so these tests
// can also show what is never delivered.

type told struct {
	mu   sync.Mutex
	seqs []int64
}

func (r *told) fn(seq int64) {
	r.mu.Lock()
	r.seqs = append(r.seqs, seq)
	r.mu.Unlock()
}

func (r *told) get() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

func appendOne(t *testing.T, s *Store, id string, seq int64) {
	t.Helper()
	if err := s.Append(context.Background(), id, seq-1, []store.Update{{Seq: seq, ClientID: "c", Time: at}}); err != nil {
		t.Fatal(err)
	}
}

func TestWatchExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openTemp(t)
		storetest.CreateDocs(t, s, at, [2]string{"d", ""})
		var stopped, live told
		stop := s.Watch(context.Background(), "d", stopped.fn)
		stopLive := s.Watch(context.Background(), "d", live.fn)
		defer stopLive()

		appendOne(t, s, "d", 1)
		synctest.Wait()
		if got := stopped.get(); !slices.Equal(got, []int64{1}) {
			t.Fatalf("told %v; want [1]", got)
		}
		// Refused: no notification.
		if err := s.Append(context.Background(), "d", 5, []store.Update{{Seq: 6, Time: at}}); err == nil {
			t.Fatal("Append at a wrong head succeeded")
		}
		synctest.Wait()
		if got := stopped.get(); !slices.Equal(got, []int64{1}) {
			t.Fatalf("told %v after a refused append; want [1]", got)
		}
		stop()
		appendOne(t, s, "d", 2)
		synctest.Wait()
		if got := stopped.get(); !slices.Equal(got, []int64{1}) {
			t.Fatalf("told %v after stop; want [1]", got)
		}
		if got := live.get(); !slices.Equal(got, []int64{1, 2}) {
			t.Fatalf("the other watch was told %v; want [1 2]", got)
		}
	})
}

func TestWatchCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openTemp(t)
		storetest.CreateDocs(t, s, at, [2]string{"d", ""})
		release := make(chan struct{})
		var r told
		stop := s.Watch(context.Background(), "d", func(seq int64) {
			r.fn(seq)
			if seq == 1 {
				<-release
			}
		})
		defer stop()
		appendOne(t, s, "d", 1)
		synctest.Wait() // the watcher is in fn(1)
		for seq := int64(2); seq <= 5; seq++ {
			appendOne(t, s, "d", seq)
		}
		close(release)
		synctest.Wait()
		if got := r.get(); !slices.Equal(got, []int64{1, 5}) {
			t.Fatalf("told %v; want [1 5]: what came while fn was busy told once, as the latest head", got)
		}
	})
}

func TestCloseEndsWatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(t.TempDir(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		storetest.CreateDocs(t, s, at, [2]string{"d", ""})
		var r told
		ctx := context.Background()
		stop := s.Watch(ctx, "d", r.fn)
		s.Watch(ctx, "e", r.fn) // never stopped: Close must end it
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		stop() // after Close: returns at once
		after := s.Watch(ctx, "d", r.fn)
		after()
		// synctest.Test fails if a watch goroutine is left behind.
	})
}

// TestNoCallAfterEnd ends a watch while fn is busy and a later append is
// waiting to be told: stop waits for fn, and neither stop nor a done
// context lets the waiting notification through. (Go's select picks at
// random among ready cases, hence the rounds.)
func TestNoCallAfterEnd(t *testing.T) {
	for _, how := range []string{"stop", "context"} {
		t.Run(how, func(t *testing.T) {
			for range 16 {
				synctest.Test(t, func(t *testing.T) {
					s := openTemp(t)
					storetest.CreateDocs(t, s, at, [2]string{"d", ""})
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					release := make(chan struct{})
					var r told
					stop := s.Watch(ctx, "d", func(seq int64) {
						r.fn(seq)
						<-release
					})
					appendOne(t, s, "d", 1)
					synctest.Wait() // in fn(1)
					appendOne(t, s, "d", 2)
					synctest.Wait() // 2 waiting
					stopped := make(chan struct{})
					if how == "stop" {
						go func() { stop(); close(stopped) }()
					} else {
						cancel()
						close(stopped)
					}
					synctest.Wait()
					select {
					case <-stopped:
						if how == "stop" {
							t.Fatal("stop returned while fn was running")
						}
					default:
					}
					close(release)
					<-stopped
					synctest.Wait()
					if got := r.get(); !slices.Equal(got, []int64{1}) {
						t.Fatalf("told %v; want [1]: nothing after the watch ended", got)
					}
					stop()
				})
			}
		})
	}
}
