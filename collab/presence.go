package collab

import (
	"encoding/json"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

// palette holds presence colours with enough contrast on white for names
// drawn in them.
var palette = []string{"#1d70b8", "#d4351c", "#00703c", "#912b88", "#b58840", "#28a197", "#f47738", "#5694ca", "#6f72af", "#85994b"}

func peerColor(n int) string { return palette[n%len(palette)] }

// peerList returns the visible editors other than except.
func (h *Hub) peerList(except *member) []Peer {
	peers := []Peer{}
	for m := range h.members {
		if m != except && m.role == RoleEditor && !m.hidden {
			peers = append(peers, m.peer)
		}
	}
	return peers
}

// broadcastPeers tells everyone but except about changed or departed
// peers of this node, and the other nodes soon after (relay.go).
func (h *Hub) broadcastPeers(changed []Peer, left []string, except *member) {
	h.relayLater()
	h.queuePeers(changed, left, except)
}

// queuePeers tells everyone but except about changed or departed peers.
func (h *Hub) queuePeers(changed []Peer, left []string, except *member) {
	data, err := json.Marshal(peersMsg{Type: MsgPeers, Peers: changed, Left: left})
	if err != nil {
		return
	}
	for m := range h.members {
		if m != except && !m.conn.Queue(data) {
			h.dropSlow(m)
		}
	}
}

// presence records where a person is and what they have selected. Ranges
// arrive relative to the section at the (durable) version the client
// names and are mapped to the current durable version before they are
// stored and sent.
func (h *Hub) presence(in presenceMsg) {
	m := in.m
	h.touch(m)
	if m.role != RoleEditor {
		return
	}
	p := Peer{Client: m.peer.Client, Name: m.peer.Name, Color: m.peer.Color}
	if in.section != "" {
		sec := h.auth.Durable().Section(in.section)
		if sec == nil {
			m.sendError(CodeUnknownSection, "no section "+in.section+" in this document", in.section, in.version)
			return
		}
		over, length, ok := h.auth.Since(in.section, *in.version)
		ranges := in.ranges
		if !ok || len(ranges) > 100 {
			// Too old, from the future or absurd: keep the person present
			// without a selection rather than guess.
			ranges, over = nil, nil
		}
		mapped := make([]Range, 0, len(ranges))
		for _, r := range ranges {
			if r.Anchor < 0 || r.Head < 0 || r.Anchor > length || r.Head > length {
				continue
			}
			for _, u := range over {
				r.Anchor, _ = u.Changes.MapPos(r.Anchor, -1, editor.MapSimple)
				r.Head, _ = u.Changes.MapPos(r.Head, -1, editor.MapSimple)
			}
			mapped = append(mapped, r)
		}
		p.Section, p.Version, p.Ranges = in.section, sec.Version, mapped
	}
	m.peer = p
	h.broadcastPeers([]Peer{p}, nil, m)
}

// mapPresence moves everyone's selection in a section through a change
// that became durable, so a newcomer sees them where they are now.
func (h *Hub) mapPresence(section string, cs editor.ChangeSet) {
	for m := range h.members {
		p := &m.peer
		if p.Section != section {
			continue
		}
		for i := range p.Ranges {
			p.Ranges[i].Anchor, _ = cs.MapPos(p.Ranges[i].Anchor, -1, editor.MapSimple)
			p.Ranges[i].Head, _ = cs.MapPos(p.Ranges[i].Head, -1, editor.MapSimple)
		}
		p.Version++
	}
}

// touch notes activity; a person hidden as idle comes back.
func (h *Hub) touch(m *member) {
	m.lastSeen = time.Now()
	if m.hidden {
		m.hidden = false
		if m.role == RoleEditor {
			h.broadcastPeers([]Peer{m.peer}, nil, m)
		}
	}
}

// expirePresence hides people who have sent nothing for PresenceIdle.
func (h *Hub) expirePresence() {
	now := time.Now()
	var left []string
	for m := range h.members {
		if m.role == RoleEditor && !m.hidden && now.Sub(m.lastSeen) >= h.cfg.PresenceIdle {
			m.hidden = true
			left = append(left, m.clientID)
		}
	}
	if len(left) > 0 {
		h.broadcastPeers(nil, left, nil)
	}
}
