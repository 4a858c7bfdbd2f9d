package collab

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Presence across nodes. When the store is a store.Relay, each hub tells
// the other nodes serving its document who is here, by publishing this
// node's whole list of visible editors (a relayMsg): soon after it changes
// (at most one message every relayGap), again every PresenceBeat while it
// is not empty, and an empty list when the hub exits. A hub keeps the
// latest list of each other node and shows those people to its
// connections as it shows its own; a node not heard from for three beats
// (it died) is dropped with its people. A starting hub says hello, and
// nodes with people answer with their list at once instead of at their
// next beat.
//
// Remote selections are at a version of their section as the sending
// node had it: one this node has is mapped to its durable version and
// moved through later updates like a local one; one it has not reached
// yet is kept as sent (clients show a selection once they have its
// version, and this node maps it from there).

// relayGap is the least time between two messages of one hub: changes
// meanwhile go in the next.
const relayGap = 50 * time.Millisecond

// relayMsg is what a hub publishes: its node's people in the document.
type relayMsg struct {
	Node string `json:"node"`
	// Seq grows with every message of the node (any document), so that
	// a message that arrives late is known to be old.
	Seq int64 `json:"seq"`
	// Hello: the hub has just started; nodes with people answer.
	Hello bool   `json:"hello,omitempty"`
	Peers []Peer `json:"peers"`
}

// remoteNode is what a hub knows of another node serving its document.
type remoteNode struct {
	seq   int64
	heard time.Time
	peers map[string]Peer // by client id; ranges as described above
}

// relayState is a hub's side of the relay.
type relayState struct {
	r          store.Relay // nil: nothing is relayed
	cancel     context.CancelFunc
	subscribed chan struct{} // closed once Subscribe has returned

	// shared with the subscription's goroutine
	mu     sync.Mutex
	stop   func()              // the subscription's, once it is in place
	box    map[string]relayMsg // each node's latest message not yet taken
	direct []directMsg         // messages for this node (forward.go), in order
	ready  bool                // the subscription is in place: say hello
	wake   chan struct{}       // capacity 1: something is in the box

	// owned by the hub goroutine
	timer    *time.Timer
	tick     <-chan time.Time // timer.C; nil when nothing is relayed
	dirty    bool             // this node's people changed since the last message
	hello    bool             // the next message says hello
	sentAny  bool             // the last message listed people: beats go on
	lastSent time.Time
	inflight chan struct{} // closed when the Publish in flight has returned
	nodes    map[string]*remoteNode
}

// startRelay subscribes to the document's relay, in the background: the
// hub says hello once the subscription is in place.
func (h *Hub) startRelay(r store.Relay) {
	rs := &h.relay
	rs.r = r
	rs.box = map[string]relayMsg{}
	rs.wake = make(chan struct{}, 1)
	rs.nodes = map[string]*remoteNode{}
	rs.timer = time.NewTimer(time.Hour)
	rs.timer.Stop()
	rs.tick = rs.timer.C
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	rs.subscribed = make(chan struct{})
	self, id := h.srv.node, h.id
	go func() {
		defer close(rs.subscribed)
		stop := r.Subscribe(ctx, id, func(data []byte) { rs.take(self, data) })
		rs.mu.Lock()
		rs.stop, rs.ready = stop, true
		rs.mu.Unlock()
		rs.poke()
	}()
}

// take keeps a message of another node for the hub (on the relay's
// goroutine): only the latest of each node matters.
func (rs *relayState) take(self string, data []byte) {
	env, ok := decodeRelay(data)
	if !ok {
		return
	}
	if env.isDirect() {
		d := env.directMsg
		if d.To != self || d.From == self {
			return
		}
		rs.mu.Lock()
		if len(rs.direct) < maxDirect {
			rs.direct = append(rs.direct, d)
		}
		rs.mu.Unlock()
		rs.poke()
		return
	}
	m := env.relayMsg
	if m.Node == "" || m.Node == self {
		return
	}
	rs.mu.Lock()
	if old, ok := rs.box[m.Node]; ok {
		if old.Seq > m.Seq {
			m = old
		}
		m.Hello = m.Hello || old.Hello
	}
	rs.box[m.Node] = m
	rs.mu.Unlock()
	rs.poke()
}

func (rs *relayState) poke() {
	select {
	case rs.wake <- struct{}{}:
	default:
	}
}

// relayReceived takes in what the relay brought.
func (h *Hub) relayReceived() {
	rs := &h.relay
	rs.mu.Lock()
	box, ready, direct := rs.box, rs.ready, rs.direct
	rs.box, rs.ready, rs.direct = map[string]relayMsg{}, false, nil
	rs.mu.Unlock()
	if ready {
		rs.hello, rs.dirty = true, true
		h.armRelay()
	}
	nodes := make([]string, 0, len(box))
	for n := range box {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		h.fromNode(box[n])
	}
	for _, d := range direct {
		h.fromDirect(d)
	}
}

// relayEnvelope is any message on a document's relay, decoded once:
// presence (relayMsg, with a "node" field) or a direct message
// (directMsg, forward.go, with "from" and "to").
type relayEnvelope struct {
	relayMsg
	directMsg
}

func decodeRelay(data []byte) (relayEnvelope, bool) {
	var e relayEnvelope
	return e, json.Unmarshal(data, &e) == nil
}

// isDirect says whether e is a well-formed direct message: a sender, an
// addressee, and a push or a refusal.
func (e relayEnvelope) isDirect() bool {
	d := e.directMsg
	return d.To != "" && d.From != "" && (d.Push == nil) != (d.Refused == nil)
}

// fromNode replaces another node's people with those of its message.
func (h *Hub) fromNode(msg relayMsg) {
	rs := &h.relay
	n := rs.nodes[msg.Node]
	if n != nil && msg.Seq <= n.seq {
		return
	}
	if msg.Hello && rs.sentAny {
		rs.dirty = true
		h.armRelay()
	}
	var old map[string]Peer
	if n != nil {
		old = n.peers
	}
	if len(msg.Peers) == 0 {
		delete(rs.nodes, msg.Node)
		h.showRemote(old, nil)
		return
	}
	if n == nil {
		n = &remoteNode{}
		rs.nodes[msg.Node] = n
	}
	n.seq, n.heard = msg.Seq, time.Now()
	n.peers = make(map[string]Peer, len(msg.Peers))
	for _, p := range msg.Peers {
		if p.Client != "" {
			n.peers[p.Client] = h.localize(p)
		}
	}
	h.showRemote(old, n.peers)
}

// localize brings a remote person's selection to this node's durable
// version of their section when it has that version (see above).
func (h *Hub) localize(p Peer) Peer {
	if p.Section == "" || len(p.Ranges) > 100 {
		p.Ranges = nil
	}
	if p.Section == "" {
		p.Version = 0
		return p
	}
	sec := h.auth.Durable().Section(p.Section)
	if sec == nil || p.Version > sec.Version {
		return p // not here yet; checked when it is (mapRemote)
	}
	over, length, ok := h.auth.Since(p.Section, p.Version)
	if !ok {
		p.Version, p.Ranges = sec.Version, nil
		return p
	}
	mapped := inBounds(p.Ranges, length)
	for i := range mapped {
		for _, u := range over {
			mapped[i].Anchor, _ = u.Changes.MapPos(mapped[i].Anchor, -1, editor.MapSimple)
			mapped[i].Head, _ = u.Changes.MapPos(mapped[i].Head, -1, editor.MapSimple)
		}
	}
	p.Version, p.Ranges = sec.Version, mapped
	return p
}

// inBounds returns the ranges within a text of length units.
func inBounds(ranges []Range, length int) []Range {
	out := make([]Range, 0, len(ranges))
	for _, r := range ranges {
		if r.Anchor >= 0 && r.Head >= 0 && r.Anchor <= length && r.Head <= length {
			out = append(out, r)
		}
	}
	return out
}

// mapRemote moves other nodes' selections in a section through an update
// that became durable here (version is the section's after it).
func (h *Hub) mapRemote(section string, version int, cs editor.ChangeSet) {
	for _, n := range h.relay.nodes {
		for id, p := range n.peers {
			switch {
			case p.Section != section:
				continue
			case p.Version == version:
				// Sent at a version this node had not reached, and now
				// has: checked as a local selection is on arrival.
				p.Ranges = inBounds(p.Ranges, cs.LenAfter())
			case p.Version == version-1:
				for i := range p.Ranges {
					p.Ranges[i].Anchor, _ = cs.MapPos(p.Ranges[i].Anchor, -1, editor.MapSimple)
					p.Ranges[i].Head, _ = cs.MapPos(p.Ranges[i].Head, -1, editor.MapSimple)
				}
				p.Version = version
			default:
				continue // at a version not reached yet
			}
			n.peers[id] = p
		}
	}
}

// showRemote tells the connections how a node's people changed from old
// to now. A person connected here (the same client id) is shown as here;
// one another node still lists stays.
func (h *Hub) showRemote(old, now map[string]Peer) {
	var changed []Peer
	var left []string
	for id, p := range now {
		if h.clients[id] != nil {
			continue
		}
		if o, ok := old[id]; !ok || !samePeer(o, p) {
			changed = append(changed, p)
		}
	}
	for id := range old {
		if _, ok := now[id]; ok || h.clients[id] != nil {
			continue
		}
		if p, ok := h.remotePeer(id); ok {
			changed = append(changed, p)
			continue
		}
		left = append(left, id)
	}
	if len(changed) == 0 && len(left) == 0 {
		return
	}
	slices.SortFunc(changed, func(a, b Peer) int { return strings.Compare(a.Client, b.Client) })
	slices.Sort(left)
	h.queuePeers(changed, left, nil)
}

func samePeer(a, b Peer) bool {
	return a.Client == b.Client && a.Name == b.Name && a.Color == b.Color && a.Section == b.Section &&
		a.Version == b.Version && slices.Equal(a.Ranges, b.Ranges)
}

// remotePeer returns a person another node lists.
func (h *Hub) remotePeer(client string) (Peer, bool) {
	for _, n := range h.relay.nodes {
		if p, ok := n.peers[client]; ok {
			return p, true
		}
	}
	return Peer{}, false
}

// reshowRemote shows again a person who left this node but is listed by
// another (they moved there).
func (h *Hub) reshowRemote(client string) {
	if p, ok := h.remotePeer(client); ok && h.clients[client] == nil {
		h.queuePeers([]Peer{p}, nil, nil)
	}
}

// allPeers returns the visible editors of every node but except.
func (h *Hub) allPeers(except *member) []Peer {
	peers := h.peerList(except)
	seen := map[string]bool{}
	for _, n := range h.relay.nodes {
		for id, p := range n.peers {
			if h.clients[id] == nil && !seen[id] {
				seen[id] = true
				peers = append(peers, p)
			}
		}
	}
	return peers
}

// expireNodes drops the nodes not heard from for three beats.
func (h *Hub) expireNodes() {
	for id, n := range h.relay.nodes {
		if time.Since(n.heard) >= 3*h.cfg.PresenceBeat {
			delete(h.relay.nodes, id)
			h.showRemote(n.peers, nil)
		}
	}
}

// relayLater notes that this node's people changed: the other nodes are
// told within relayGap.
func (h *Hub) relayLater() {
	if h.relay.r != nil {
		h.relay.dirty = true
		h.armRelay()
	}
}

// armRelay sets the timer for the next message: relayGap after the last
// one when there is news, a beat after it while this node has people.
func (h *Hub) armRelay() {
	rs := &h.relay
	var at time.Time
	switch {
	case rs.dirty:
		at = rs.lastSent.Add(relayGap)
	case rs.sentAny:
		at = rs.lastSent.Add(h.cfg.PresenceBeat)
	default:
		rs.timer.Stop()
		return
	}
	rs.timer.Reset(max(time.Until(at), 0))
}

// relayTick sends the message that is due, one Publish at a time.
func (h *Hub) relayTick() {
	rs := &h.relay
	if rs.inflight != nil {
		select {
		case <-rs.inflight:
			rs.inflight = nil
		default:
			rs.timer.Reset(relayGap)
			return
		}
	}
	if rs.dirty || (rs.sentAny && time.Since(rs.lastSent) >= h.cfg.PresenceBeat) {
		h.publishPresence()
	}
	h.armRelay()
}

// publishPresence sends this node's people in the background.
func (h *Hub) publishPresence() {
	rs := &h.relay
	peers := h.peerList(nil)
	hello := rs.hello
	rs.dirty, rs.hello = false, false
	if len(peers) == 0 && !rs.sentAny && !hello {
		return // the others know nobody of this node already
	}
	data, err := json.Marshal(relayMsg{Node: h.srv.node, Seq: h.srv.relaySeq.Add(1), Hello: hello, Peers: peers})
	if err != nil {
		h.log.Error("encode presence", "err", err)
		return
	}
	rs.lastSent, rs.sentAny = time.Now(), len(peers) > 0
	done := make(chan struct{})
	rs.inflight = done
	r, id, log := rs.r, h.id, h.log
	go func() {
		defer close(done)
		ctx, cancel := h.storeCtx()
		defer cancel()
		if err := r.Publish(ctx, id, data); err != nil {
			log.Debug("relay presence", "err", err)
		}
	}()
}

// stopRelay ends the subscription and, when this node had people, tells
// the others they are gone.
func (h *Hub) stopRelay() {
	rs := &h.relay
	if rs.r == nil {
		return
	}
	rs.cancel()
	<-rs.subscribed
	rs.mu.Lock()
	stop := rs.stop
	rs.mu.Unlock()
	if stop != nil {
		stop()
	}
	rs.timer.Stop()
	if rs.inflight != nil {
		<-rs.inflight // so the farewell is the last word
	}
	if !rs.sentAny {
		return
	}
	data, err := json.Marshal(relayMsg{Node: h.srv.node, Seq: h.srv.relaySeq.Add(1), Peers: []Peer{}})
	if err != nil {
		return
	}
	ctx, cancel := h.storeCtx()
	defer cancel()
	if err := rs.r.Publish(ctx, h.id, data); err != nil {
		h.log.Debug("relay farewell", "err", err)
	}
}
