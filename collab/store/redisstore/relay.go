package redisstore

import (
	"github.com/redis/go-redis/v9"

	"context"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

var _ store.Relay = (*Store)(nil)

// relayQueue is how many messages a subscription holds for a fn that is
// busy; more are dropped.
const relayQueue = 64

// The relay is PUBLISH on a document's relay channel; subscriptions share
// the watches' pub/sub connection and loops (notify.go): syncLoop
// subscribes to the channels of the documents relayed, receiveLoop hands
// each message to their subscriptions and marks a document's channel
// confirmed when Redis says it is subscribed.

// relayDoc is the subscriptions to one document's relay channel.
type relayDoc struct {
	subs map[*store.MsgSub]struct{}
	// ready is closed once Redis confirmed a subscription to the channel
	// made for these subscriptions; asked says one was asked for.
	ready     chan struct{}
	confirmed bool
	asked     bool
}

func (s *Store) relayChannel(id string) string { return s.docKey(id, "relay") }

// docOfRelay returns the document whose relay channel is ch.
func (s *Store) docOfRelay(ch string) (string, bool) {
	rest, ok := strings.CutPrefix(ch, s.prefix+"{doc:")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "}:relay")
}

// Publish implements store.Relay: msg reaches the subscribers of the
// document through every Store on the same Redis and prefix, this one
// included, unless pub/sub loses it.
func (s *Store) Publish(ctx context.Context, id string, msg []byte) error {
	if err := store.NeedID("relay message", id); err != nil {
		return err
	}
	// go-redis sends PUBLISH to any node of a cluster, and each node
	// passes what it is given on to the others: messages published on two
	// nodes may reach a subscriber in another order. Sent by the
	// channel's slot, every message of a document goes through the master
	// that has its keys (and publishes its appends), in the order sent.
	cmd := redis.NewIntCmd(ctx, "publish", s.relayChannel(id), msg)
	cmd.SetFirstKeyPos(1)
	s.rdb.Process(ctx, cmd)
	return closedErr(cmd.Err())
}

// Subscribe implements store.Relay. It returns once Redis has confirmed
// the subscription (at once when another subscription to the document
// has it already), or when ctx is done first. Messages published while
// the pub/sub connection is being made again are lost. After Close,
// Subscribe does nothing.
func (s *Store) Subscribe(ctx context.Context, id string, fn func(msg []byte)) (stop func()) {
	ws := &s.watches
	r := store.NewMsgSub(fn, relayQueue)
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return func() {}
	}
	ws.start()
	d := ws.relayed[id]
	if d == nil {
		d = &relayDoc{subs: map[*store.MsgSub]struct{}{}, ready: make(chan struct{})}
		ws.relayed[id] = d
	}
	d.subs[r] = struct{}{}
	ready := d.ready
	ws.mu.Unlock()
	ws.kick() // subscribe

	r.Start(ctx, func() { ws.removeRelay(id, r) })
	select {
	case <-ready:
	case <-ctx.Done():
	case <-r.Done(): // the store was closed
	}
	return r.Stop
}

// relay hands a message of the document's relay channel to its
// subscriptions, each its own copy.
func (ws *watches) relay(id, payload string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if d := ws.relayed[id]; d != nil {
		for r := range d.subs {
			r.Post([]byte(payload))
		}
	}
}

// relayConfirmed notes that Redis confirmed a subscription to channel ch.
func (ws *watches) relayConfirmed(ch string) {
	id, ok := ws.s.docOfRelay(ch)
	if !ok {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if d := ws.relayed[id]; d != nil && !d.confirmed {
		d.confirmed = true
		close(d.ready)
	}
}

// relayChannels returns the relay channels of the documents subscribed
// now, and those of them to subscribe to (again): not asked yet, or, on
// a periodic check, not confirmed yet.
func (ws *watches) relayChannels(periodic bool) (all, ask []string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for id, d := range ws.relayed {
		ch := ws.s.relayChannel(id)
		all = append(all, ch)
		if !d.asked || (periodic && !d.confirmed) {
			d.asked = true
			ask = append(ask, ch)
		}
	}
	return all, ask
}

func (ws *watches) removeRelay(id string, r *store.MsgSub) {
	ws.mu.Lock()
	if d := ws.relayed[id]; d != nil {
		delete(d.subs, r)
		if len(d.subs) == 0 {
			delete(ws.relayed, id)
		}
	}
	ws.mu.Unlock()
	ws.kick() // unsubscribe
}
