package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// NewRelay returns two handles on one empty backend, as two engines
// sharing it hold them (see NewNotifier). It releases what it holds with
// t.Cleanup.
type NewRelay func(t *testing.T) (a, b store.Relay)

// RunRelay runs the conformance tests of store.Relay as named subtests,
// subscribing through one handle and publishing through the other (and
// through the same one):
//
//   - Reaches: messages published through either handle reach the
//     subscribers of both, each publisher's in the order published.
//   - OtherDocuments: a subscriber hears only its own document.
//   - Stop: after stop returns, fn is never called again, while another
//     subscriber of the same document goes on; stop may be called twice.
//   - ContextEnds: after ctx is done no call starts; stop still returns.
//   - SlowSubscriber: a subscriber blocked in fn blocks neither the
//     publisher nor another subscriber; once released it hears more.
//   - OwnCopies: a subscriber's msg is its own: neither the publisher
//     reusing its buffer nor another subscriber changing its copy
//     changes it.
//
// Delivery is at most once, but a healthy backend delivers the few
// messages these tests send: the suite waits for them, failing after a
// guard of a minute instead of hanging.
func RunRelay(t *testing.T, newRelay NewRelay) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Relay)
	}{
		{"Reaches", testRelayReaches},
		{"OtherDocuments", testRelayOtherDocuments},
		{"Stop", testRelayStop},
		{"ContextEnds", testRelayContextEnds},
		{"SlowSubscriber", testRelaySlowSubscriber},
		{"OwnCopies", testRelayOwnCopies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newRelay(t)
			tt.fn(t, a, b)
		})
	}
}

// heard is a subscriber that keeps the messages it is given.
type heard struct {
	mu   sync.Mutex
	msgs []string
	errs []error

	poke  chan struct{} // capacity 1: something was heard
	ended atomic.Bool   // set when no further call may start
}

func newHeard() *heard { return &heard{poke: make(chan struct{}, 1)} }

func (h *heard) fn(msg []byte) {
	h.mu.Lock()
	if h.ended.Load() {
		h.errs = append(h.errs, fmt.Errorf("heard %q after delivery ended", msg))
	}
	h.msgs = append(h.msgs, string(msg))
	h.mu.Unlock()
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

func (h *heard) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

// waitFor waits until the subscriber has heard msg.
func (h *heard) waitFor(t *testing.T, msg string) {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for !slices.Contains(h.got(), msg) {
		select {
		case <-h.poke:
		case <-timer.C:
			t.Fatalf("%q not heard within %v; heard %q", msg, guard, h.got())
		}
	}
}

// verify reports the calls made after delivery ended.
func (h *heard) verify(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, err := range h.errs {
		t.Error(err)
	}
}

func mustPublish(t *testing.T, r store.Relay, id, msg string) {
	t.Helper()
	if err := r.Publish(context.Background(), id, []byte(msg)); err != nil {
		t.Fatalf("Publish(%s, %q): %v", id, msg, err)
	}
}

// inOrder reports whether the messages of got that start with prefix are
// exactly want, in order.
func inOrder(got []string, prefix string, want []string) bool {
	var mine []string
	for _, m := range got {
		if strings.HasPrefix(m, prefix) {
			mine = append(mine, m)
		}
	}
	return slices.Equal(mine, want)
}

func testRelayReaches(t *testing.T, a, b store.Relay) {
	ctx := context.Background()
	onA, onB := newHeard(), newHeard()
	stopA := a.Subscribe(ctx, "d", onA.fn)
	defer stopA()
	stopB := b.Subscribe(ctx, "d", onB.fn)
	defer stopB()
	var fromA, fromB []string
	for i := range 10 {
		m := fmt.Sprintf("b%d", i)
		mustPublish(t, b, "d", m)
		fromB = append(fromB, m)
		m = fmt.Sprintf("a%d", i)
		mustPublish(t, a, "d", m)
		fromA = append(fromA, m)
	}
	for _, h := range []*heard{onA, onB} {
		h.waitFor(t, fromA[len(fromA)-1])
		h.waitFor(t, fromB[len(fromB)-1])
	}
	stopA()
	stopB()
	for name, h := range map[string]*heard{"a": onA, "b": onB} {
		got := h.got()
		if !inOrder(got, "a", fromA) || !inOrder(got, "b", fromB) || len(got) != len(fromA)+len(fromB) {
			t.Errorf("the subscriber on %s heard %q; want each of %q and %q once, each in its order", name, got, fromA, fromB)
		}
	}
}

func testRelayOtherDocuments(t *testing.T, a, b store.Relay) {
	ctx := context.Background()
	x, y := newHeard(), newHeard()
	stopX := a.Subscribe(ctx, "x", x.fn)
	defer stopX()
	stopY := a.Subscribe(ctx, "y", y.fn)
	defer stopY()
	// Each subscriber hears its own message after any it should not have
	// heard: what was published first on the other document.
	mustPublish(t, b, "y", "for y")
	mustPublish(t, b, "x", "for x")
	mustPublish(t, b, "xy", "for xy")
	mustPublish(t, b, "y", "for y again")
	x.waitFor(t, "for x")
	y.waitFor(t, "for y again")
	stopX()
	stopY()
	if got := x.got(); !slices.Equal(got, []string{"for x"}) {
		t.Errorf("the subscriber of x heard %q; want [for x]", got)
	}
	if got := y.got(); !slices.Equal(got, []string{"for y", "for y again"}) {
		t.Errorf("the subscriber of y heard %q; want [for y, for y again]", got)
	}
}

func testRelayStop(t *testing.T, a, b store.Relay) {
	ctx := context.Background()
	h1, h2 := newHeard(), newHeard()
	stop1 := a.Subscribe(ctx, "d", h1.fn)
	stop2 := a.Subscribe(ctx, "d", h2.fn)
	defer stop2()
	mustPublish(t, b, "d", "1")
	h1.waitFor(t, "1")
	h2.waitFor(t, "1")
	stop1()
	h1.ended.Store(true)
	stop1()
	mustPublish(t, b, "d", "2")
	mustPublish(t, a, "d", "3")
	h2.waitFor(t, "3")
	stop2()
	h1.verify(t)
	h2.verify(t)
	if got := h1.got(); !slices.Equal(got, []string{"1"}) {
		t.Errorf("the stopped subscriber heard %q; want [1]", got)
	}
}

func testRelayContextEnds(t *testing.T, a, b store.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h1, h2 := newHeard(), newHeard()
	stop1 := a.Subscribe(ctx, "d", h1.fn)
	stop2 := a.Subscribe(context.Background(), "d", h2.fn)
	defer stop2()
	mustPublish(t, b, "d", "1")
	h1.waitFor(t, "1")
	h2.waitFor(t, "1")
	cancel()
	h1.ended.Store(true)
	mustPublish(t, b, "d", "2")
	h2.waitFor(t, "2")
	stop1()
	stop2()
	h1.verify(t)
	h2.verify(t)
}

func testRelaySlowSubscriber(t *testing.T, a, b store.Relay) {
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	slow := newHeard()
	var once sync.Once
	stopSlow := a.Subscribe(ctx, "d", func(msg []byte) {
		slow.fn(msg)
		once.Do(func() {
			close(entered)
			<-release
		})
	})
	defer stopSlow()
	fast := newHeard()
	stopFast := a.Subscribe(ctx, "d", fast.fn)
	defer stopFast()

	mustPublish(t, b, "d", "m0")
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatalf("the subscriber did not hear m0 within %v", guard)
	}
	// The slow subscriber now sits in fn; publishers and the other
	// subscriber go on. Few messages: a relay may drop what a busy
	// subscriber cannot take, and the fast one may be busy too.
	const n = 16
	var want []string
	published := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			m := fmt.Sprintf("m%d", i)
			want = append(want, m)
			if err := b.Publish(ctx, "d", []byte(m)); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	select {
	case err := <-published:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatalf("publishing blocked for %v behind a subscriber that does not return", guard)
	}
	fast.waitFor(t, want[n-1])
	if got := fast.got(); !inOrder(got, "m", append([]string{"m0"}, want...)) {
		t.Errorf("the fast subscriber heard %q; want m0 to m%d in order", got, n)
	}
	close(release)
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for len(slow.got()) < 2 {
		select {
		case <-slow.poke:
		case <-timer.C:
			t.Fatalf("the released subscriber heard nothing more within %v", guard)
		}
	}
	stopSlow()
	stopFast()
	got := slow.got()
	for i := 1; i < len(got); i++ {
		var p, q int
		fmt.Sscanf(got[i-1], "m%d", &p)
		fmt.Sscanf(got[i], "m%d", &q)
		if q <= p {
			t.Fatalf("the slow subscriber heard %q; want the messages in their order", got)
		}
	}
	t.Logf("the slow subscriber heard %d of %d messages", len(got), n+1)
}

func testRelayOwnCopies(t *testing.T, a, b store.Relay) {
	ctx := context.Background()
	scribbled := make(chan struct{})
	heard := make(chan string, 1)
	stop1 := a.Subscribe(ctx, "d", func(msg []byte) {
		for i := range msg {
			msg[i] = 'X'
		}
		close(scribbled)
	})
	defer stop1()
	stop2 := a.Subscribe(ctx, "d", func(msg []byte) {
		select {
		case <-scribbled:
		case <-time.After(guard):
		}
		heard <- string(msg)
	})
	defer stop2()
	buf := []byte("original")
	if err := b.Publish(ctx, "d", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "reused..")
	select {
	case got := <-heard:
		if got != "original" {
			t.Fatalf("the second subscriber heard %q; want %q", got, "original")
		}
	case <-time.After(2 * guard):
		t.Fatalf("the second subscriber heard nothing within %v", 2*guard)
	}
	stop1()
	stop2()
}

var _ store.Relay = (*Faulty)(nil)

// Publish implements store.Relay through the wrapped store; if that store
// is not a Relay, the message goes nowhere.
func (f *Faulty) Publish(ctx context.Context, id string, msg []byte) error {
	if r, ok := f.Store.(store.Relay); ok {
		return r.Publish(ctx, id, msg)
	}
	return nil
}

// Subscribe implements store.Relay through the wrapped store; if that
// store is not a Relay, fn is never called.
func (f *Faulty) Subscribe(ctx context.Context, id string, fn func(msg []byte)) (stop func()) {
	if r, ok := f.Store.(store.Relay); ok {
		return r.Subscribe(ctx, id, fn)
	}
	return func() {}
}
