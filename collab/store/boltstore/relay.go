package boltstore

import (
	"context"
	"sync"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

var _ store.Relay = (*Store)(nil)

// relayQueue is how many messages a subscription holds for a fn that is
// busy; more are dropped.
const relayQueue = 64

// relays is the in-process fan-out behind Publish and Subscribe, the
// engines sharing one Store being the engines sharing the file: Publish
// hands a copy of the message to every subscription of the document,
// which never blocks, and each subscription delivers from a goroutine of
// its own.
type relays struct {
	mu     sync.Mutex
	byDoc  map[string]map[*store.MsgSub]struct{}
	closed bool
}

// Publish implements store.Relay: msg reaches the subscribers of the
// document through this Store (this engine's own included). It is lost
// only for a subscriber whose queue is full.
func (s *Store) Publish(ctx context.Context, id string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rs := &s.watches.relays
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return store.ErrClosed
	}
	for r := range rs.byDoc[id] {
		r.Post(append([]byte(nil), msg...)) // dropped when r is too slow
	}
	return nil
}

// Subscribe implements store.Relay. The subscription is in place when it
// returns. After Close, Subscribe does nothing.
func (s *Store) Subscribe(ctx context.Context, id string, fn func(msg []byte)) (stop func()) {
	r := store.NewMsgSub(fn, relayQueue)
	rs := &s.watches.relays
	rs.mu.Lock()
	if rs.closed {
		rs.mu.Unlock()
		return func() {}
	}
	if rs.byDoc == nil {
		rs.byDoc = map[string]map[*store.MsgSub]struct{}{}
	}
	if rs.byDoc[id] == nil {
		rs.byDoc[id] = map[*store.MsgSub]struct{}{}
	}
	rs.byDoc[id][r] = struct{}{}
	rs.mu.Unlock()

	r.Start(ctx, func() { rs.remove(id, r) })
	return r.Stop
}

func (rs *relays) remove(id string, r *store.MsgSub) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.byDoc[id], r)
	if len(rs.byDoc[id]) == 0 {
		delete(rs.byDoc, id)
	}
}

// close ends every subscription and waits for their goroutines; later
// calls of Publish fail and Subscribe does nothing.
func (rs *relays) close() {
	rs.mu.Lock()
	rs.closed = true
	var all []*store.MsgSub
	for _, m := range rs.byDoc {
		for r := range m {
			all = append(all, r)
		}
	}
	rs.mu.Unlock()
	for _, r := range all {
		r.Stop()
	}
}
