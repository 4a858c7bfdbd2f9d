package collab

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Pushes go to one node. When several nodes serve a document, every one
// of them may append to its log, and appends that meet are resolved by
// the store (a version conflict, then the turn: see pipeline.go). That is
// safe but costly when editors on every node type at once. So a hub that
// knows of other nodes with people in the document (through the relay,
// relay.go) passes its connections' pushes to the one whose node id is
// the smallest, the writer, over the relay (a directMsg), and does not do
// them itself. The writer does them as its own and tells the sender of a
// refusal; its append reaches the sender as any other node's does, and
// the client sees its own updates come back: that confirms them.
//
// Nothing depends on the nodes agreeing. Two nodes that each think they
// are the writer both append, as before. A push that was passed on and
// whose updates have not come back after HubConfig.ForwardWait (the
// writer died, or the message was lost) is done by this node itself: if
// the writer did store it meanwhile, the authority finds the client's
// own updates among those it rebases over and drops them, as it does for
// a client that pushes again after reconnecting.

// directMsg is a relay message for one node: a push passed to the writer,
// or the writer's refusal of one. It has no "node" field, so that the
// presence code of nodes that know nothing of it ignores it.
type directMsg struct {
	From    string         `json:"from"`
	To      string         `json:"to"`
	Push    *directPush    `json:"push,omitempty"`
	Refused *directRefusal `json:"refused,omitempty"`
}

type directPush struct {
	Author  authority.Author   `json:"author"`
	Section string             `json:"section"`
	Base    int                `json:"base"`
	Check   uint32             `json:"check"`
	Updates []editor.ChangeSet `json:"updates"`
}

type directRefusal struct {
	Client  string `json:"client"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Section string `json:"section"`
	Version int    `json:"version"`
}

// maxDirect bounds the direct messages waiting for the hub; more are
// dropped (their pushes are done by their own nodes after ForwardWait).
const maxDirect = 10000

// forwarding is what a hub keeps of pushes passed between nodes; owned
// by the hub goroutine.
type forwarding struct {
	// waiting holds, by client id, the pushes passed to the writer whose
	// updates have not come back yet; seq numbers them.
	waiting map[string][]forwarded
	seq     int64
	// skip counts, by client, updates done here while pushes passed on
	// wait (see cameBack).
	skip map[string]int
	// off: until then pushes are done here (the writer did not answer).
	off time.Time
	// held are pushes passed on by another node that wait for this one
	// to read more of the log.
	held []heldPush
}

// forwarded is a push passed to the writer, waiting for its updates to
// come back.
type forwarded struct {
	p    pushMsg
	id   int64
	left int // updates of the client still to come back
}

// forwardTick: ForwardWait has passed since push id of client was passed on.
type forwardTick struct {
	client string
	id     int64
}

// writer returns the node this hub passes its pushes to, or "" when it
// does them itself: the smallest node id among this one and the nodes
// that have people in the document.
func (h *Hub) writer() string {
	if h.relay.r == nil || h.cfg.ForwardWait < 0 || time.Now().Before(h.fwd.off) {
		return ""
	}
	w := h.srv.node
	for id := range h.relay.nodes {
		if id < w {
			w = id
		}
	}
	if w == h.srv.node {
		return ""
	}
	return w
}

// forward passes a push to the writer.
func (h *Hub) forward(to string, p pushMsg) {
	m := p.m
	msg := directMsg{From: h.srv.node, To: to, Push: &directPush{
		Author:  authority.Author{Client: m.clientID, Name: m.peer.Name, Account: m.account, Role: m.access},
		Section: p.section, Base: p.version, Check: p.check, Updates: p.updates,
	}}
	data, err := json.Marshal(msg)
	if err != nil {
		h.pushHere(p)
		return
	}
	f := &h.fwd
	if f.waiting == nil {
		f.waiting, f.skip = map[string][]forwarded{}, map[string]int{}
	}
	f.seq++
	id := f.seq
	f.waiting[m.clientID] = append(f.waiting[m.clientID], forwarded{p: p, id: id, left: len(p.updates)})
	h.srv.metrics.pushesForwarded.Inc()
	client := m.clientID
	time.AfterFunc(h.cfg.ForwardWait, func() { h.report(forwardTick{client: client, id: id}) })
	h.publishDirect(data)
}

// publishDirect sends a direct message in the background.
func (h *Hub) publishDirect(data []byte) {
	r, id, log := h.relay.r, h.id, h.log
	timeout := h.cfg.StoreTimeout
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := r.Publish(ctx, id, data); err != nil {
			log.Debug("relay a push", "err", err)
		}
	}()
}

// forwardDue does a push that was passed on and has not come back.
func (h *Hub) forwardDue(t forwardTick) {
	list := h.fwd.waiting[t.client]
	for i, f := range list {
		if f.id != t.id {
			continue
		}
		h.dropForward(t.client, i)
		// The writer did not answer in time: do this push, and the next
		// ones for a while, here.
		h.fwd.off = time.Now().Add(3 * h.cfg.PresenceBeat)
		if _, ok := h.members[f.p.m]; ok {
			h.srv.metrics.forwardsRedone.Inc()
			h.pushHere(f.p)
		}
		return
	}
}

func (h *Hub) dropForward(client string, i int) {
	f := &h.fwd
	list := f.waiting[client]
	list = append(list[:i:i], list[i+1:]...)
	if len(list) == 0 {
		delete(f.waiting, client)
		delete(f.skip, client)
	} else {
		f.waiting[client] = list
	}
}

// cameBack counts a durable update of a client against the pushes this
// hub passed on for it, oldest first.
func (h *Hub) cameBack(client string) {
	list := h.fwd.waiting[client]
	if len(list) == 0 {
		return
	}
	if h.fwd.skip[client] > 0 {
		// One of the client's pushes done here: it is none of those
		// passed on. (Counting too many here only keeps a push passed on
		// waiting until ForwardWait, when doing it again finds its
		// updates stored and does nothing.)
		h.fwd.skip[client]--
		return
	}
	list[0].left--
	if list[0].left <= 0 {
		h.dropForward(client, 0)
	}
}

// fromDirect acts on a direct message for this node.
func (h *Hub) fromDirect(msg directMsg) {
	switch {
	case msg.Push != nil:
		h.directPush(msg, 0)
	case msg.Refused != nil:
		r := msg.Refused
		if len(h.fwd.waiting[r.Client]) > 0 {
			h.dropForward(r.Client, 0)
		}
		if m := h.clients[r.Client]; m != nil {
			h.refused(m, &authority.Refusal{Code: r.Code, Message: r.Message}, r.Section, r.Version)
		}
	}
}

// heldPush is a push passed on from a node that had stored or read more
// of the log than this one: it waits for this node to read it.
type heldPush struct {
	msg   directMsg
	tries int
}

// directPush does a push another node passed on. Its base is a version
// of the log as the sender had read it; one this node has not stored or
// read yet (past its durable version: a version of this node's own batch
// in flight would be another update) waits for the next read of the log,
// twice at most, before it is refused.
func (h *Hub) directPush(msg directMsg, tries int) {
	p := msg.Push
	var err error
	tk := authority.NoTicket
	if d := h.auth.Durable().Section(p.Section); d != nil && p.Base > d.Version {
		err = &authority.Refusal{Code: CodeFutureVersion,
			Message: fmt.Sprintf("section %q is at version %d here; the push is based on %d", p.Section, d.Version, p.Base)}
	} else {
		check := p.Check
		tk, err = h.auth.Do(authority.Push{Author: p.Author, Section: p.Section, Base: p.Base,
			Check: &check, Updates: p.Updates, Time: h.srv.now().UTC()})
	}
	if r := refusalOf(err); err != nil && r.Code == CodeFutureVersion && tries < 2 {
		h.fwd.held = append(h.fwd.held, heldPush{msg: msg, tries: tries + 1})
		h.absorbLater()
		return
	}
	if err != nil {
		h.refuseRemote(msg.From, p.Author.Client, err, p.Section, p.Base)
		return
	}
	if tk != authority.NoTicket {
		h.owners[tk] = owner{remote: msg.From, client: p.Author.Client, section: p.Section, version: p.Base}
		h.startCommit()
	}
}

// retryHeld does again the pushes that waited for a read of the log.
func (h *Hub) retryHeld() {
	held := h.fwd.held
	h.fwd.held = nil
	for _, hp := range held {
		h.directPush(hp.msg, hp.tries)
	}
}

// refuseRemote tells the node a push came from that it was refused.
func (h *Hub) refuseRemote(node, client string, err error, section string, version int) {
	r := refusalOf(err)
	data, jerr := json.Marshal(directMsg{From: h.srv.node, To: node, Refused: &directRefusal{
		Client: client, Code: r.Code, Message: r.Message, Section: section, Version: version}})
	if jerr != nil {
		return
	}
	h.publishDirect(data)
}
