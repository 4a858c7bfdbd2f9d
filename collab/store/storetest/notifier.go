package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// RunNotifier runs the conformance tests of store.Notifier as named
// subtests. Each watches through one handle and appends through the other
// (and through the same one):
//
//   - AfterAppend: appends through either handle are told, each no earlier
//     than its commit (when fn runs, Head already shows the seq).
//   - OtherDocuments: a watch is told only of its own document.
//   - NoneAfterRefusedAppend: appends refused for a stale head, a future
//     head or bad numbering are never told.
//   - Stop: after stop returns, fn is never called again, while another
//     watch of the same document goes on; stop may be called twice.
//   - ContextEnds: after ctx is done no call starts; stop still returns.
//   - SlowWatcher: a watcher blocked in fn blocks neither the appends nor
//     another watcher; once released it is told the latest head, its calls
//     still in increasing order.
//   - ConcurrentAppends: writers racing on both handles; the watcher's seqs
//     strictly increase, never exceed the head, and reach the final head.
//
// Delivery is at most once, but a healthy backend delivers: the suite waits
// for notifications, failing after a guard of a minute instead of hanging.
func RunNotifier(t *testing.T, newNotifier NewNotifier) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b NotifierStore)
	}{
		{"AfterAppend", testNotifyAfterAppend},
		{"OtherDocuments", testNotifyOtherDocuments},
		{"NoneAfterRefusedAppend", testNotifyNoneAfterRefused},
		{"Stop", testNotifyStop},
		{"ContextEnds", testNotifyContextEnds},
		{"SlowWatcher", testNotifySlowWatcher},
		{"ConcurrentAppends", testNotifyConcurrentAppends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newNotifier(t)
			tt.fn(t, a, b)
		})
	}
}

// recorder is a watcher that keeps what it is told.
type recorder struct {
	// check, if set, runs at the start of each call; a non-nil error is kept.
	check func(seq int64) error

	mu   sync.Mutex
	seqs []int64
	errs []error

	poke  chan struct{} // capacity 1: something was recorded
	ended atomic.Bool   // set when no further call may start
}

func newRecorder() *recorder { return &recorder{poke: make(chan struct{}, 1)} }

func (r *recorder) fn(seq int64) {
	var err error
	if r.ended.Load() {
		err = fmt.Errorf("told of seq %d after delivery ended", seq)
	} else if r.check != nil {
		err = r.check(seq)
	}
	r.mu.Lock()
	r.seqs = append(r.seqs, seq)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	r.mu.Unlock()
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

func (r *recorder) told() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

// waitFor waits until the watcher has been told of seq or a later one.
func (r *recorder) waitFor(t *testing.T, seq int64) {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for {
		if told := r.told(); len(told) > 0 && told[len(told)-1] >= seq {
			return
		}
		select {
		case <-r.poke:
		case <-timer.C:
			t.Fatalf("not told of seq %d within %v; told %v", seq, guard, r.told())
		}
	}
}

// verify checks that the seqs told strictly increase and never exceed max,
// and that no check failed. Call it once the watch has ended.
func (r *recorder) verify(t *testing.T, max int64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Error(err)
	}
	for i, seq := range r.seqs {
		if seq > max || (i > 0 && seq <= r.seqs[i-1]) {
			t.Fatalf("told %v; want strictly increasing seqs up to %d", r.seqs, max)
		}
	}
}

func testNotifyAfterAppend(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("d", ""))
	r := newRecorder()
	r.check = func(seq int64) error {
		// The log is the truth: by the time a watcher is told, it is there.
		if head, err := a.Head(ctx, "d"); err != nil || head < seq {
			return fmt.Errorf("told of seq %d while Head = %d, %v", seq, head, err)
		}
		return nil
	}
	stop := a.Watch(ctx, "d", r.fn)
	defer stop()
	mustAppend(t, b, "d", 0, textUpdates(1, 3, "other"))
	r.waitFor(t, 3)
	mustAppend(t, a, "d", 3, textUpdates(4, 1, "self"))
	r.waitFor(t, 4)
	stop()
	r.verify(t, 4)
}

func testNotifyOtherDocuments(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("x", ""))
	mustCreate(t, a, newDoc("y", ""))
	rx, ry := newRecorder(), newRecorder()
	stopX := a.Watch(ctx, "x", rx.fn)
	defer stopX()
	stopY := a.Watch(ctx, "y", ry.fn)
	defer stopY()
	mustAppend(t, b, "y", 0, textUpdates(1, 5, "c"))
	mustAppend(t, b, "x", 0, textUpdates(1, 1, "c"))
	rx.waitFor(t, 1)
	ry.waitFor(t, 5)
	stopX()
	stopY()
	rx.verify(t, 1)
	ry.verify(t, 5)
}

func testNotifyNoneAfterRefused(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("d", ""))
	mustAppend(t, b, "d", 0, textUpdates(1, 1, "c"))
	r := newRecorder()
	stop := a.Watch(ctx, "d", r.fn)
	defer stop()
	bad := textUpdates(2, 2, "c")
	bad[1].Seq = 9
	for _, refused := range []struct {
		name   string
		expect int64
		ups    []store.Update
	}{
		{"future head", 4, textUpdates(5, 2, "c")},
		{"stale head", 0, textUpdates(1, 1, "c")},
		{"bad numbering", 1, bad},
	} {
		if err := b.Append(ctx, "d", refused.expect, refused.ups); !errors.Is(err, store.ErrVersionConflict) {
			t.Fatalf("Append with a %s = %v; want ErrVersionConflict", refused.name, err)
		}
	}
	// b, whose appends were refused, may hold the turn (store.ErrBusy).
	mustAppend(t, b, "d", 1, textUpdates(2, 1, "c"))
	r.waitFor(t, 2)
	stop()
	r.verify(t, 2)
}

func testNotifyStop(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("d", ""))
	r1, r2 := newRecorder(), newRecorder()
	stop1 := a.Watch(ctx, "d", r1.fn)
	stop2 := a.Watch(ctx, "d", r2.fn)
	defer stop2()
	mustAppend(t, b, "d", 0, textUpdates(1, 1, "c"))
	r1.waitFor(t, 1)
	r2.waitFor(t, 1)
	stop1()
	r1.ended.Store(true)
	stop1()
	mustAppend(t, b, "d", 1, textUpdates(2, 2, "c"))
	mustAppend(t, a, "d", 3, textUpdates(4, 1, "c"))
	r2.waitFor(t, 4)
	stop2()
	r1.verify(t, 1)
	r2.verify(t, 4)
}

func testNotifyContextEnds(t *testing.T, a, b NotifierStore) {
	mustCreate(t, a, newDoc("d", ""))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1, r2 := newRecorder(), newRecorder()
	stop1 := a.Watch(ctx, "d", r1.fn)
	stop2 := a.Watch(context.Background(), "d", r2.fn)
	defer stop2()
	mustAppend(t, b, "d", 0, textUpdates(1, 1, "c"))
	r1.waitFor(t, 1)
	r2.waitFor(t, 1)
	cancel()
	r1.ended.Store(true)
	mustAppend(t, b, "d", 1, textUpdates(2, 1, "c"))
	r2.waitFor(t, 2)
	stop1()
	stop2()
	r1.verify(t, 1)
	r2.verify(t, 2)
}

func testNotifySlowWatcher(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("d", ""))
	entered, release := make(chan struct{}), make(chan struct{})
	slow := newRecorder()
	var once sync.Once
	stopSlow := a.Watch(ctx, "d", func(seq int64) {
		slow.fn(seq)
		once.Do(func() {
			close(entered)
			<-release
		})
	})
	defer stopSlow()
	fast := newRecorder()
	stopFast := a.Watch(ctx, "d", fast.fn)
	defer stopFast()

	mustAppend(t, b, "d", 0, textUpdates(1, 1, "c"))
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatalf("the watcher was not told of seq 1 within %v", guard)
	}
	// The slow watcher now sits in fn; appends and the other watcher go on.
	const n = 30
	appended := make(chan error, 1)
	go func() {
		for seq := int64(1); seq <= n; seq++ {
			var s store.DocLog = b
			if seq%2 == 0 {
				s = a
			}
			if err := s.Append(ctx, "d", seq, textUpdates(seq+1, 1, "c")); err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatalf("appends blocked for %v behind a watcher that does not return", guard)
	}
	fast.waitFor(t, n+1)
	close(release)
	slow.waitFor(t, n+1)
	stopSlow()
	stopFast()
	slow.verify(t, n+1)
	fast.verify(t, n+1)
	t.Logf("%d appends told to the slow watcher in %d calls", n+1, len(slow.told()))
}

func testNotifyConcurrentAppends(t *testing.T, a, b NotifierStore) {
	ctx := context.Background()
	mustCreate(t, a, newDoc("d", ""))
	r := newRecorder()
	stop := a.Watch(ctx, "d", r.fn)
	defer stop()
	var wg sync.WaitGroup
	for w := range 4 {
		s := DocLogStore(a)
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				head, err := s.Head(ctx, "d")
				if err != nil {
					t.Error(err)
					return
				}
				err = s.Append(ctx, "d", head, textUpdates(head+1, 1+w, fmt.Sprint("w", w)))
				if err != nil && !errors.Is(err, store.ErrVersionConflict) && !errors.Is(err, store.ErrBusy) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	head, err := a.Head(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, head)
	stop()
	r.verify(t, head)
}
