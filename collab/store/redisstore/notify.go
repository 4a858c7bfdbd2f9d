package redisstore

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/redis/go-redis/v9"
)

// watches is the Store's side of store.Notifier. All the watches of a
// Store share one pub/sub connection, opened by the first Watch, and two
// goroutines:
//
//   - receiveLoop reads the connection: each message (a document's channel
//     and the head an append reached) is posted to the document's
//     watches; each confirmed subscription, first or made again after a
//     lost connection, and each error asks syncLoop for a check.
//   - syncLoop, asked or every checkEvery, subscribes to the channels of
//     the documents watched (and unsubscribes from the others), then reads
//     their heads and posts them: what pub/sub lost is found there.
//
// Posting never blocks: each watch keeps the highest seq posted and
// delivers from a goroutine of its own (watch.run), so appenders, the
// loops and other watches never wait for a slow fn.
//
// The relay's subscriptions (relay.go) share the connection and the
// loops: syncLoop subscribes to their channels too, and receiveLoop hands
// their messages over.
type watches struct {
	s     *Store
	every time.Duration

	// ctx is cancelled by close; quit is closed by close.
	ctx    context.Context
	cancel context.CancelFunc
	quit   chan struct{}
	kicks  chan struct{} // capacity 1: a check is wanted
	loops  sync.WaitGroup

	mu      sync.Mutex
	byDoc   map[string]map[*store.SeqWatch]struct{}
	relayed map[string]*relayDoc
	ps      *redis.PubSub // nil until the first Watch or Subscribe
	closed  bool
}

func (ws *watches) init(s *Store, every time.Duration) {
	ws.s, ws.every = s, every
	ws.ctx, ws.cancel = context.WithCancel(context.Background())
	ws.quit = make(chan struct{})
	ws.kicks = make(chan struct{}, 1)
	ws.byDoc = map[string]map[*store.SeqWatch]struct{}{}
	ws.relayed = map[string]*relayDoc{}
}

// start opens the pub/sub connection and starts the loops, the first
// time; ws.mu is held.
func (ws *watches) start() {
	if ws.ps == nil {
		ws.ps = ws.s.rdb.Subscribe(ws.ctx)
		ws.loops.Add(2)
		go ws.receiveLoop()
		go ws.syncLoop()
	}
}

// Watch implements store.Notifier. fn is told of appends through any
// Store on the same Redis and prefix. Watch reads the document's head
// before it returns; a later head, published or found by a check, is
// told. After Close, Watch does nothing.
func (s *Store) Watch(ctx context.Context, id string, fn func(seq int64)) (stop func()) {
	ws := &s.watches
	w := store.NewSeqWatch(fn)
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return func() {}
	}
	ws.start()
	if ws.byDoc[id] == nil {
		ws.byDoc[id] = map[*store.SeqWatch]struct{}{}
	}
	ws.byDoc[id][w] = struct{}{}
	ws.mu.Unlock()
	ws.kick() // subscribe

	// Registered first, then the head read: an append after this read is
	// posted (by its message, or by the check that syncLoop makes once the
	// subscription is confirmed), and what it was is not told.
	var last int64
	if head, err := s.Head(ctx, id); err == nil {
		last = head
	}
	w.Start(ctx, last, func() { ws.remove(id, w) })
	return w.Stop
}

// kick asks syncLoop for a check, without waiting.
func (ws *watches) kick() {
	select {
	case ws.kicks <- struct{}{}:
	default:
	}
}

// post tells the watches of the document id that its head is seq.
func (ws *watches) post(id string, seq int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byDoc[id] {
		w.Post(seq)
	}
}

func (ws *watches) remove(id string, w *store.SeqWatch) {
	ws.mu.Lock()
	delete(ws.byDoc[id], w)
	if len(ws.byDoc[id]) == 0 {
		delete(ws.byDoc, id)
	}
	ws.mu.Unlock()
	ws.kick() // unsubscribe
}

// watched returns the ids of the documents watched now.
func (ws *watches) watched() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ids := make([]string, 0, len(ws.byDoc))
	for id := range ws.byDoc {
		ids = append(ids, id)
	}
	return ids
}

// receiveLoop reads the pub/sub connection until close. go-redis makes
// the connection again, and subscribes again, when it breaks; messages
// published meanwhile are lost, and the check that each confirmed
// subscription asks for finds the heads they told.
func (ws *watches) receiveLoop() {
	defer ws.loops.Done()
	var pause time.Duration
	for {
		msg, err := ws.ps.Receive(ws.ctx)
		if err != nil {
			select {
			case <-ws.quit:
				return
			default:
			}
			ws.kick()
			// Redis is unreachable: try again, less and less often.
			pause = min(max(2*pause, 10*time.Millisecond), time.Second, ws.every)
			t := time.NewTimer(pause)
			select {
			case <-ws.quit:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		pause = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				ws.kick()
				ws.relayConfirmed(m.Channel)
			}
		case *redis.Message:
			if id, ok := ws.s.docOfRelay(m.Channel); ok {
				ws.relay(id, m.Payload)
				break
			}
			id, ok := ws.s.docOfChannel(m.Channel)
			seq, err := strconv.ParseInt(m.Payload, 10, 64)
			if ok && err == nil {
				ws.post(id, seq)
			}
		}
	}
}

// syncLoop makes the subscriptions follow the documents watched and
// relayed, and reads the heads of those watched, when kicked and every
// checkEvery, until close.
func (ws *watches) syncLoop() {
	defer ws.loops.Done()
	ticker := time.NewTicker(ws.every)
	defer ticker.Stop()
	subscribed := map[string]bool{} // by channel
	for {
		periodic := false
		select {
		case <-ws.quit:
			return
		case <-ws.kicks:
		case <-ticker.C:
			periodic = true
			// A write on a connection that died quietly fails, and go-redis
			// then makes it again.
			ws.ps.Ping(ws.ctx)
		}
		ids := ws.watched()
		relayed, ask := ws.relayChannels(periodic)
		want := make(map[string]bool, len(ids)+len(relayed))
		for _, id := range ids {
			want[ws.s.channel(id)] = true
		}
		for _, ch := range relayed {
			want[ch] = true
		}
		var add, drop []string
		for ch := range want {
			if !subscribed[ch] {
				add = append(add, ch)
				subscribed[ch] = true
			}
		}
		// A relay subscription waits for Redis to confirm its channel,
		// even when it is subscribed already: asked again, Redis confirms
		// again.
		for _, ch := range ask {
			if !slices.Contains(add, ch) {
				add = append(add, ch)
			}
		}
		for ch := range subscribed {
			if !want[ch] {
				drop = append(drop, ch)
				delete(subscribed, ch)
			}
		}
		// On an error go-redis keeps the channels it was asked for and
		// subscribes to them when it next connects.
		if len(add) > 0 {
			ws.ps.Subscribe(ws.ctx, add...)
		}
		if len(drop) > 0 {
			ws.ps.Unsubscribe(ws.ctx, drop...)
		}
		ws.check(ids)
	}
}

// check reads the heads of the documents ids and posts them. Errors are
// left for the next check.
func (ws *watches) check(ids []string) {
	if len(ids) == 0 {
		return
	}
	heads := make([]*redis.StringCmd, len(ids))
	ws.s.rdb.Pipelined(ws.ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			heads[i] = p.Get(ws.ctx, ws.s.docKey(id, "head"))
		}
		return nil
	})
	for i, id := range ids {
		if v, err := heads[i].Result(); err == nil {
			if seq, err := parseSeq(v); err == nil {
				ws.post(id, seq)
			}
		}
	}
}

// close ends every watch and relay subscription, waiting for calls in
// progress, then the loops and the pub/sub connection; later Watch and
// Subscribe calls do nothing.
func (ws *watches) close() {
	ws.mu.Lock()
	ws.closed = true
	var all []*store.SeqWatch
	for _, m := range ws.byDoc {
		for w := range m {
			all = append(all, w)
		}
	}
	var subs []*store.MsgSub
	for _, d := range ws.relayed {
		for r := range d.subs {
			subs = append(subs, r)
		}
	}
	ps := ws.ps
	ws.mu.Unlock()
	for _, w := range all {
		w.Stop()
	}
	for _, r := range subs {
		r.Stop()
	}
	close(ws.quit)
	ws.cancel()
	if ps != nil {
		ps.Close()
	}
	ws.loops.Wait()
}
