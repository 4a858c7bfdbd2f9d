package boltstore

import (
	"context"
	"sync"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// watches is the in-process fan-out behind Store.Watch: Append posts the
// head it reached to every watch of the document, which never blocks, and
// each watch delivers from a goroutine of its own. It also holds the
// Store's relay (relay.go), ended with it.
type watches struct {
	mu     sync.Mutex
	byDoc  map[string]map[*store.SeqWatch]struct{}
	closed bool

	relays relays
}

// Watch implements store.Notifier: fn is told of every append made through
// this Store after it commits, so engines sharing one Store see each other's
// appends. Nothing is lost while the watch lasts; notifications are only
// coalesced while fn is busy. After Close, Watch does nothing.
func (s *Store) Watch(ctx context.Context, id string, fn func(seq int64)) (stop func()) {
	w := store.NewSeqWatch(fn)
	ws := &s.watches
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return func() {}
	}
	if ws.byDoc == nil {
		ws.byDoc = map[string]map[*store.SeqWatch]struct{}{}
	}
	if ws.byDoc[id] == nil {
		ws.byDoc[id] = map[*store.SeqWatch]struct{}{}
	}
	ws.byDoc[id][w] = struct{}{}
	ws.mu.Unlock()

	w.Start(ctx, 0, func() { ws.remove(id, w) })
	return w.Stop
}

func (ws *watches) notify(id string, seq int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byDoc[id] {
		w.Post(seq)
	}
}

func (ws *watches) remove(id string, w *store.SeqWatch) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	delete(ws.byDoc[id], w)
	if len(ws.byDoc[id]) == 0 {
		delete(ws.byDoc, id)
	}
}

// close ends every watch and relay subscription and waits for their
// goroutines; later Watch calls do nothing.
func (ws *watches) close() {
	ws.relays.close()
	ws.mu.Lock()
	ws.closed = true
	var all []*store.SeqWatch
	for _, m := range ws.byDoc {
		for w := range m {
			all = append(all, w)
		}
	}
	ws.mu.Unlock()
	for _, w := range all {
		w.Stop()
	}
}
