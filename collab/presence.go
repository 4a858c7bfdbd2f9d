package collab

import (
	"encoding/json"

	"github.com/bpfdraft/bpfdraft/editor"
)

// palette holds presence colours with enough contrast on white for names
// drawn in them.
var palette = []string{"#1d70b8", "#d4351c", "#00703c", "#912b88", "#b58840", "#28a197", "#f47738", "#5694ca", "#6f72af", "#85994b"}

func peerColor(n int) string { return palette[n%len(palette)] }

// peerList returns the visible editors other than except.
func (h *Hub) peerList(except *Conn) []Peer {
	peers := []Peer{}
	for c := range h.conns {
		if c != except && c.role == RoleEditor && !c.hidden {
			peers = append(peers, c.peer)
		}
	}
	return peers
}

// broadcastPeers tells everyone but except about changed or departed peers.
func (h *Hub) broadcastPeers(changed []Peer, left []string, except *Conn) {
	data, err := json.Marshal(peersMsg{Type: MsgPeers, Peers: changed, Left: left})
	if err != nil {
		return
	}
	for c := range h.conns {
		if c != except && !c.queue(data) {
			h.dropSlow(c)
		}
	}
}

// presence records where a person is and what they have selected. Ranges
// arrive relative to the section at the version the client names and are
// mapped to the current version before they are stored and sent.
func (h *Hub) presence(c *Conn, in *inMsg) {
	h.touch(c)
	if c.role != RoleEditor {
		return
	}
	p := Peer{Client: c.peer.Client, Name: c.peer.Name, Color: c.peer.Color}
	if in.Section != "" {
		sec, hs := h.doc.Section(in.Section), h.sections[in.Section]
		if sec == nil || hs == nil {
			c.sendError(CodeUnknownSection, "no section "+in.Section+" in this document", in.Section, in.Version)
			return
		}
		v := *in.Version
		if v > sec.Version || v < hs.base || len(in.Ranges) > 100 {
			// Too old, from the future or absurd: keep the person present
			// without a selection rather than guess.
			in.Ranges = nil
			v = sec.Version
		}
		length := editor.UTF16Len(sec.Text)
		if v < sec.Version {
			length = hs.recent[v-hs.base].Changes.LenBefore()
		}
		ranges := make([]Range, 0, len(in.Ranges))
		for _, r := range in.Ranges {
			if r.Anchor < 0 || r.Head < 0 || r.Anchor > length || r.Head > length {
				continue
			}
			for _, u := range hs.recent[v-hs.base:] {
				r.Anchor, _ = u.Changes.MapPos(r.Anchor, -1, editor.MapSimple)
				r.Head, _ = u.Changes.MapPos(r.Head, -1, editor.MapSimple)
			}
			ranges = append(ranges, r)
		}
		p.Section, p.Version, p.Ranges = in.Section, sec.Version, ranges
	}
	c.peer = p
	h.broadcastPeers([]Peer{p}, nil, c)
}

// mapPresence moves everyone's selection in a section through an accepted
// change, so a newcomer sees them where they are now.
func (h *Hub) mapPresence(section string, cs editor.ChangeSet) {
	for c := range h.conns {
		p := &c.peer
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
func (h *Hub) touch(c *Conn) {
	c.lastSeen = h.srv.now()
	if c.hidden {
		c.hidden = false
		if c.role == RoleEditor {
			h.broadcastPeers([]Peer{c.peer}, nil, c)
		}
	}
}

// expirePresence hides people who have sent nothing for PresenceIdle.
func (h *Hub) expirePresence() {
	now := h.srv.now()
	var left []string
	for c := range h.conns {
		if c.role == RoleEditor && !c.hidden && now.Sub(c.lastSeen) >= h.cfg.PresenceIdle {
			c.hidden = true
			left = append(left, c.clientID)
		}
	}
	if len(left) > 0 {
		h.broadcastPeers(nil, left, nil)
	}
}
