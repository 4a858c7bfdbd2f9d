package boltstore

import (
	"context"
	"sync"
)

// watches is the in-process fan-out behind Store.Watch: Append posts the
// head it reached to every watch of the document, which never blocks, and
// each watch delivers from a goroutine of its own. It also holds the
// Store's relay (relay.go), ended with it.
type watches struct {
	mu     sync.Mutex
	byDoc  map[string]map[*watch]struct{}
	closed bool

	relays relays
}

// watch is one Watch call.
type watch struct {
	fn   func(seq int64)
	wake chan struct{} // capacity 1: a pending wake-up
	done chan struct{} // closed by end
	gone chan struct{} // closed when the goroutine has returned
	once sync.Once

	mu      sync.Mutex
	pending int64 // the highest seq posted
}

// Watch implements store.Notifier: fn is told of every append made through
// this Store after it commits, so engines sharing one Store see each other's
// appends. Nothing is lost while the watch lasts; notifications are only
// coalesced while fn is busy. After Close, Watch does nothing.
func (s *Store) Watch(ctx context.Context, id string, fn func(seq int64)) (stop func()) {
	w := &watch{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{}), gone: make(chan struct{})}
	ws := &s.watches
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return func() {}
	}
	if ws.byDoc == nil {
		ws.byDoc = map[string]map[*watch]struct{}{}
	}
	if ws.byDoc[id] == nil {
		ws.byDoc[id] = map[*watch]struct{}{}
	}
	ws.byDoc[id][w] = struct{}{}
	ws.mu.Unlock()

	go func() {
		defer close(w.gone)
		defer ws.remove(id, w)
		w.run(ctx)
	}()
	return func() {
		w.end()
		<-w.gone
	}
}

func (w *watch) end() { w.once.Do(func() { close(w.done) }) }

func (w *watch) post(seq int64) {
	w.mu.Lock()
	w.pending = max(w.pending, seq)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending; it will read the new seq
	}
}

func (w *watch) run(ctx context.Context) {
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case <-w.wake:
		}
		// select picks at random among ready cases: an ended watch must not
		// deliver because its wake-up happened to be chosen.
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		default:
		}
		w.mu.Lock()
		seq := w.pending
		w.mu.Unlock()
		if seq > last {
			last = seq
			w.fn(seq)
		}
	}
}

func (ws *watches) notify(id string, seq int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byDoc[id] {
		w.post(seq)
	}
}

func (ws *watches) remove(id string, w *watch) {
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
	var all []*watch
	for _, m := range ws.byDoc {
		for w := range m {
			all = append(all, w)
		}
	}
	ws.mu.Unlock()
	for _, w := range all {
		w.end()
		<-w.gone
	}
}
