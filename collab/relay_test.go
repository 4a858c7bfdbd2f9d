package collab

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Presence across nodes: two servers on one bbolt store in one process
// are two nodes, and the store's relay carries each one's people to the
// other (relay.go). Everything runs in a synctest bubble, so beats and
// expiry take no real time.

// cutRelay is the shared store, whose relay messages stop going out once
// cut: its node falls silent as a node that was killed does.
type cutRelay struct {
	*storetest.Faulty
	cut atomic.Bool
}

func (c *cutRelay) Publish(ctx context.Context, id string, msg []byte) error {
	if c.cut.Load() {
		return nil
	}
	return c.Faulty.Publish(ctx, id, msg)
}

// otherNode starts a second server on w's store, through a cutRelay.
func otherNode(w *world) (*world, *cutRelay) {
	st := &cutRelay{Faulty: w.st}
	return &world{t: w.t, srv: New(Config{}, st, slog.New(slog.DiscardHandler), time.Now), st: w.st, doc: w.doc}, st
}

// peerView follows what a connection is told of presence, as a client
// does: the welcome's list, then each peers message.
type peerView struct {
	t     *testing.T
	c     *fakeConn
	peers map[string]map[string]any
}

func newPeerView(t *testing.T, c *fakeConn) *peerView {
	return &peerView{t: t, c: c, peers: map[string]map[string]any{}}
}

// update applies the messages queued since the last update and returns
// them.
func (v *peerView) update() []map[string]any {
	v.t.Helper()
	msgs := v.c.take()
	for _, m := range msgs {
		switch m["type"] {
		case MsgWelcome:
			clear(v.peers)
			var ids []string
			for _, p := range m["peers"].([]any) {
				p := p.(map[string]any)
				id := p["client"].(string)
				if slices.Contains(ids, id) {
					v.t.Fatalf("the welcome lists %s twice: %v", id, m["peers"])
				}
				ids = append(ids, id)
				v.peers[id] = p
			}
		case MsgPeers:
			if ps, ok := m["peers"].([]any); ok {
				for _, p := range ps {
					p := p.(map[string]any)
					v.peers[p["client"].(string)] = p
				}
			}
			if left, ok := m["left"].([]any); ok {
				for _, id := range left {
					delete(v.peers, id.(string))
				}
			}
		}
	}
	return msgs
}

// has reports whether the view shows the member's person.
func (v *peerView) has(m *member) bool {
	v.update()
	return v.peers[m.clientID] != nil
}

// where returns the section, version and ranges the view shows for m.
func (v *peerView) where(m *member) string {
	v.t.Helper()
	v.update()
	p := v.peers[m.clientID]
	if p == nil {
		v.t.Fatalf("%s is not shown; shown: %v", m.peer.Name, v.peers)
	}
	return fmt.Sprintf("%v@%v %v", p["section"], p["version"], p["ranges"])
}

// readded reports whether msgs show m present again.
func readded(msgs []map[string]any, m *member) bool {
	for _, msg := range ofType(msgs, MsgPeers) {
		if ps, ok := msg["peers"].([]any); ok {
			for _, p := range ps {
				if p.(map[string]any)["client"] == m.clientID {
					return true
				}
			}
		}
	}
	return false
}

// pushAt sends a push of one insertion at a position of a section whose
// text the member has as text at version.
func (w *world) pushAt(m *member, section string, version int, text string, at int, insert string) {
	w.t.Helper()
	n := editor.UTF16Len(text)
	cs, err := editor.ChangeSetOf([]editor.Change{{From: at, To: at, Insert: insert}}, n)
	if err != nil {
		w.t.Fatal(err)
	}
	after := text[:at] + insert + text[at:]
	if !w.hub().send(pushMsg{m: m, section: section, version: version, check: editor.Checksum(after), updates: []editor.ChangeSet{cs}}, nil) {
		w.t.Fatal("the hub did not take the push")
	}
}

func (w *world) setPresence(m *member, section string, version int, ranges ...Range) {
	w.t.Helper()
	if !w.hub().send(presenceMsg{m: m, section: section, version: &version, ranges: ranges}, nil) {
		w.t.Fatal("the hub did not take the presence")
	}
}

// TestPresenceAcrossNodes: people on one node are shown on the other,
// where they are and with their selections, mapped through later edits
// like local ones; one who leaves is gone from both; a node never takes
// its own messages for another node's; beats keep people shown however
// long nothing changes.
func TestPresenceAcrossNodes(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, _ := otherNode(b)
		defer a.srv.Shutdown(context.Background())
		ana, anaConn := a.join("ana", RoleEditor, nil)
		al, alConn := a.join("al", RoleEditor, nil)
		bo, boConn := b.join("bo", RoleEditor, nil)
		time.Sleep(time.Second)
		synctest.Wait()
		onB, onA := newPeerView(t, boConn), newPeerView(t, anaConn)
		alView := newPeerView(t, alConn)
		if !onB.has(ana) || !onB.has(al) || onB.peers[ana.clientID]["name"] != "ana" {
			t.Fatalf("bo on the other node sees %v; want ana and al", onB.peers)
		}
		if !onA.has(bo) || !onA.has(al) || len(onA.peers) != 2 {
			t.Fatalf("ana sees %v; want al and bo", onA.peers)
		}

		a.push(ana, "issues", 0, "", "Hello world")
		a.settle()
		a.setPresence(ana, "issues", 1, Range{Anchor: 6, Head: 11})
		time.Sleep(time.Second)
		synctest.Wait()
		if got := onB.where(ana); got != "issues@1 [map[anchor:6 head:11]]" {
			t.Fatalf("bo sees ana at %s; want issues@1 with 6–11", got)
		}

		// Bo writes before ana's selection: both nodes move it along.
		b.pushAt(bo, "issues", 1, "Hello world", 0, "Oh, ")
		b.settle()
		time.Sleep(time.Second)
		synctest.Wait()
		_, newConn := b.join("newcomer", RoleEditor, nil)
		if got := newPeerView(t, newConn).where(ana); got != "issues@2 [map[anchor:10 head:15]]" {
			t.Fatalf("a newcomer on bo's node sees ana at %s; want issues@2 with 10–15", got)
		}
		_, newOnA := a.join("newcomer-a", RoleEditor, nil)
		if got := newPeerView(t, newOnA).where(ana); got != "issues@2 [map[anchor:10 head:15]]" {
			t.Fatalf("a newcomer on ana's node sees ana at %s; want issues@2 with 10–15", got)
		}

		// Ana leaves: gone on both nodes, and never shown again on her own
		// node by its own messages coming back.
		a.hub().send(leaveMsg{ana}, nil)
		synctest.Wait()
		if alView.has(ana) {
			t.Fatal("al still sees ana after she left")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if onB.has(ana) {
			t.Fatal("bo still sees ana after she left")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if msgs := alView.update(); readded(msgs, ana) || alView.peers[ana.clientID] != nil {
			t.Fatalf("al was shown ana again after she left: %v", msgs)
		}

		// Nothing changes for a while: beats keep al on the other node.
		time.Sleep(time.Minute)
		synctest.Wait()
		if !onB.has(al) {
			t.Fatal("al is gone from bo's view after a quiet minute")
		}
	})
}

// TestPresenceRemoteAhead: a selection at a version the node has not
// reached yet is shown as sent, and stays right once the node reaches it.
func TestPresenceRemoteAhead(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, _ := otherNode(b)
		defer a.srv.Shutdown(context.Background())
		ana, _ := a.join("ana", RoleEditor, nil)
		_, boConn := b.join("bo", RoleEditor, nil)
		onB := newPeerView(t, boConn)
		a.push(ana, "issues", 0, "", "Hello")
		a.settle()
		time.Sleep(time.Second)
		synctest.Wait()

		// Bo's node does not read ana's next update yet.
		held, release := b.st.Hold(storetest.OpReadUpdates)
		a.push(ana, "issues", 1, "Hello", " world")
		<-held
		a.settle()
		a.setPresence(ana, "issues", 2, Range{Anchor: 6, Head: 11})
		time.Sleep(time.Second)
		synctest.Wait()
		if got := b.hub().published.Load().Section("issues").Version; got != 1 {
			t.Fatalf("bo's node is at version %d; the test needs it at 1", got)
		}
		if got := onB.where(ana); got != "issues@2 [map[anchor:6 head:11]]" {
			t.Fatalf("bo sees ana at %s; want issues@2 with 6–11 as sent", got)
		}
		release()
		time.Sleep(time.Second)
		synctest.Wait()
		_, newConn := b.join("newcomer", RoleEditor, nil)
		if got := newPeerView(t, newConn).where(ana); got != "issues@2 [map[anchor:6 head:11]]" {
			t.Fatalf("a newcomer on bo's node sees ana at %s; want issues@2 with 6–11", got)
		}
	})
}

// TestPresenceNodeDies: a node that falls silent (killed: no farewell, no
// beats) keeps its people shown on the other for three beats, no more.
func TestPresenceNodeDies(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, st := otherNode(b)
		ana, _ := a.join("ana", RoleEditor, nil)
		_, boConn := b.join("bo", RoleEditor, nil)
		onB := newPeerView(t, boConn)
		time.Sleep(time.Second)
		synctest.Wait()
		if !onB.has(ana) {
			t.Fatal("bo does not see ana")
		}
		beat := b.srv.hubCfg.PresenceBeat
		st.cut.Store(true)
		if err := a.srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(beat)
		synctest.Wait()
		if !onB.has(ana) {
			t.Fatal("ana was dropped a beat after her node fell silent; want three beats")
		}
		time.Sleep(4 * beat)
		synctest.Wait()
		if onB.has(ana) {
			t.Fatalf("bo still sees ana five beats after her node died")
		}
	})
}

// TestPresenceFarewell: a node that shuts down takes its people from the
// others' views at once.
func TestPresenceFarewell(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, _ := otherNode(b)
		ana, _ := a.join("ana", RoleEditor, nil)
		_, boConn := b.join("bo", RoleEditor, nil)
		onB := newPeerView(t, boConn)
		time.Sleep(time.Second)
		synctest.Wait()
		if !onB.has(ana) {
			t.Fatal("bo does not see ana")
		}
		if err := a.srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if onB.has(ana) {
			t.Fatal("bo still sees ana after her node shut down")
		}
	})
}

// TestPresenceHello: a node that starts serving a document learns the
// others' people at once, not at their next beat.
func TestPresenceHello(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, _ := otherNode(b)
		defer a.srv.Shutdown(context.Background())
		ana, _ := a.join("ana", RoleEditor, nil)
		time.Sleep(time.Second)
		synctest.Wait()
		_, boConn := b.join("bo", RoleEditor, nil) // loads the document on bo's node
		time.Sleep(4 * relayGap)
		synctest.Wait()
		if !newPeerView(t, boConn).has(ana) {
			t.Fatal("bo does not see ana a moment after his node loaded the document")
		}
	})
}

// TestPresenceRemoteBehind: a selection at a version older than the
// node's is mapped to its version before it is shown.
func TestPresenceRemoteBehind(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		a, _ := otherNode(b)
		defer a.srv.Shutdown(context.Background())
		ana, _ := a.join("ana", RoleEditor, nil)
		bo, boConn := b.join("bo", RoleEditor, nil)
		onB := newPeerView(t, boConn)
		a.push(ana, "issues", 0, "", "Hello world")
		a.settle()
		time.Sleep(time.Second)
		synctest.Wait()

		// Ana's node does not read bo's update yet.
		held, release := b.st.Hold(storetest.OpReadUpdates)
		defer release()
		b.pushAt(bo, "issues", 1, "Hello world", 0, "Oh, ")
		<-held
		b.settle()
		a.setPresence(ana, "issues", 1, Range{Anchor: 6, Head: 11})
		time.Sleep(time.Second)
		synctest.Wait()
		if got := a.hub().published.Load().Section("issues").Version; got != 1 {
			t.Fatalf("ana's node is at version %d; the test needs it at 1", got)
		}
		if got := onB.where(ana); got != "issues@2 [map[anchor:10 head:15]]" {
			t.Fatalf("bo sees ana at %s; want issues@2 with 10–15", got)
		}
	})
}

// TestPresenceRelayChecked: what comes over the relay is checked as a
// client's presence is: selections out of the text are dropped (when
// their version is reached, for one sent ahead) rather than trusted, and
// a message in this node's own name is not another node's.
func TestPresenceRelayChecked(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		bo, boConn := w.join("bo", RoleEditor, nil)
		onB := newPeerView(t, boConn)
		w.push(bo, "issues", 0, "", "Hello")
		w.settle()
		say := func(node string, seq int, peers string) {
			t.Helper()
			msg := fmt.Sprintf(`{"node":%q,"seq":%d,"peers":%s}`, node, seq, peers)
			if err := w.st.Publish(context.Background(), w.doc, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		say(w.srv.node, 1000, `[{"client":"ghost","name":"Ghost"}]`)
		if onB.update(); onB.peers["ghost"] != nil {
			t.Fatal("a message in the node's own name was taken for another node's")
		}
		say("elsewhere", 1, `[{"client":"now","name":"Now","section":"issues","version":1,"ranges":[{"anchor":2,"head":3},{"anchor":2,"head":99}]},
			{"client":"ahead","name":"Ahead","section":"issues","version":2,"ranges":[{"anchor":1,"head":1},{"anchor":-1,"head":40}]}]`)
		onB.update()
		if got := fmt.Sprint(onB.peers["now"]["ranges"]); got != "[map[anchor:2 head:3]]" {
			t.Fatalf("a selection partly out of the text is shown as %s; want only its part within", got)
		}
		// Bo reaches version 2: the selection sent ahead is checked then.
		w.push(bo, "issues", 1, "Hello", "!")
		w.settle()
		_, newConn := w.join("newcomer", RoleEditor, nil)
		nv := newPeerView(t, newConn)
		nv.update()
		if got := fmt.Sprint(nv.peers["ahead"]["ranges"]); got != "[map[anchor:1 head:1]]" {
			t.Fatalf("a selection sent ahead is shown as %s once its version is reached; want only its part within", got)
		}
		if got := fmt.Sprint(nv.peers["now"]["version"], nv.peers["now"]["ranges"]); got != "2 [map[anchor:2 head:3]]" {
			t.Fatalf("a remote selection is shown as %s after an edit; want version 2 with 2–3", got)
		}
		// An older message from that node changes nothing.
		say("elsewhere", 0, `[]`)
		if onB.update(); onB.peers["now"] == nil {
			t.Fatal("an old message from a node was taken over its latest")
		}
	})
}
