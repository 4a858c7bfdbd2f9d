package collab

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
func otherNode(w *world, cfg ...Config) (*world, *cutRelay) {
	st := &cutRelay{Faulty: w.st}
	c := Config{}
	if len(cfg) > 0 {
		c = cfg[0]
	}
	return &world{t: w.t, srv: New(c, st, slog.New(slog.DiscardHandler), time.Now), st: w.st, doc: w.doc}, st
}

// toldTo returns what the relay has carried for node so far: the direct
// messages addressed to it (forward.go).
func (w *world) toldTo(node string) func() []directMsg {
	var mu sync.Mutex
	var told []directMsg
	stop := w.st.Subscribe(context.Background(), w.doc, func(data []byte) {
		if e, ok := decodeRelay(data); ok && e.isDirect() && e.To == node {
			mu.Lock()
			told = append(told, e.directMsg)
			mu.Unlock()
		}
	})
	w.t.Cleanup(stop)
	return func() []directMsg {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(told)
	}
}

// asWriter makes w's node node-a, the writer for node-b (passOn), with
// bo, an editor, joined and welcomed; it returns bo, its connection and
// what node-b is told from then on.
func (w *world) asWriter() (*member, *fakeConn, func() []directMsg) {
	w.srv.node = "node-a"
	bo, boConn := w.join("bo", RoleEditor, nil)
	time.Sleep(time.Second)
	synctest.Wait()
	boConn.take()
	return bo, boConn, w.toldTo("node-b")
}

// passOn publishes, as node-b passing a push of ana-client's to node-a,
// insert at the end of "issues", whose text at version base is text.
func (w *world) passOn(base int, text, insert string) {
	w.t.Helper()
	n := editor.UTF16Len(text)
	cs, err := editor.ChangeSetOf([]editor.Change{{From: n, To: n, Insert: insert}}, n)
	if err != nil {
		w.t.Fatal(err)
	}
	data, _ := json.Marshal(directMsg{From: "node-b", To: "node-a", Push: &directPush{
		Author:  authority.Author{Client: "ana-client", Name: "Ana", Role: access.CoFacilitator},
		Section: "issues", Base: base, Check: editor.Checksum(text + insert), Updates: []editor.ChangeSet{cs}}})
	if err := w.st.Publish(context.Background(), w.doc, data); err != nil {
		w.t.Fatal(err)
	}
}

// eachWrites has every node do its own pushes (none passed to the
// writer, forward.go): for tests of nodes at different versions.
var eachWrites = Config{Hub: HubConfig{ForwardWait: -1}}

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
	inBubble(t, eachWrites, func(b *world) {
		a, _ := otherNode(b, eachWrites)
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
	inBubble(t, eachWrites, func(b *world) {
		a, _ := otherNode(b, eachWrites)
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
	// The other node here is made up: it would never do the pushes passed
	// to it.
	inBubble(t, eachWrites, func(w *world) {
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

// TestPushesGoToTheWriter: with people on two nodes, the node whose id is
// not the smallest passes its connections' pushes to the other (the
// writer), which stores them: they come back to their client as its own
// updates, and a refusal comes back as the refusal. A push that does not
// come back (the message was lost) is done by its own node after
// ForwardWait.
func TestPushesGoToTheWriter(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		b.srv.node = "node-a" // the writer: the smallest id
		a, cut := otherNode(b)
		a.srv.node = "node-b"
		defer a.srv.Shutdown(context.Background())
		_, boConn := b.join("bo", RoleEditor, nil)
		ana, anaConn := a.join("ana", RoleEditor, nil)
		time.Sleep(time.Second)
		synctest.Wait()
		boConn.take()
		anaConn.take()
		count := func(c interface{ Desc() *prometheus.Desc }) float64 {
			return testutil.ToFloat64(c.(prometheus.Collector))
		}

		a.push(ana, "issues", 0, "", "Hello")
		a.settle()
		synctest.Wait()
		if got := seqs(anaConn.take()); len(got) != 1 || got[0] != 1 {
			t.Fatalf("ana got updates %v; want her own, 1", got)
		}
		if got := seqs(boConn.take()); len(got) != 1 || got[0] != 1 {
			t.Fatalf("bo got updates %v; want ana's, 1", got)
		}
		if n := count(a.srv.metrics.pushesForwarded); n != 1 {
			t.Fatalf("ana's node passed on %v pushes; want 1", n)
		}
		if na, nb := count(a.srv.metrics.commits), count(b.srv.metrics.commits); na != 0 || nb != 1 {
			t.Fatalf("commits: ana's node %v, the writer %v; want 0 and 1", na, nb)
		}

		a.push(ana, "issues", 5, "Hello", "!") // a version nobody has
		a.settle()
		synctest.Wait()
		errs := ofType(anaConn.take(), MsgError)
		if len(errs) != 1 || errs[0]["code"] != CodeFutureVersion {
			t.Fatalf("ana was told %v; want the writer's future_version", errs)
		}

		cut.cut.Store(true) // what ana's node publishes is lost
		a.push(ana, "issues", 1, "Hello", " world")
		a.settle()
		if got := seqs(anaConn.take()); len(got) != 0 {
			t.Fatalf("ana got %v before ForwardWait; want nothing yet", got)
		}
		time.Sleep(a.srv.hubCfg.ForwardWait)
		synctest.Wait()
		time.Sleep(10 * time.Millisecond) // the commit interval
		synctest.Wait()
		if got := seqs(anaConn.take()); len(got) != 1 || got[0] != 2 {
			t.Fatalf("ana got updates %v; want her own, 2, done by her node", got)
		}
		if n := count(a.srv.metrics.forwardsRedone); n != 1 {
			t.Fatalf("%v pushes done after all; want 1", n)
		}
		if got := b.stored().Section("issues").Text; got != "Hello world" {
			t.Fatalf("stored %q; want Hello world", got)
		}
	})
}

// TestForwardedPushAhead: a push passed on by a node that has read (or
// stored) more of the log than the writer waits for the writer to read
// it, and is then done; one at a version nobody has is refused to its
// node after two reads.
func TestForwardedPushAhead(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		_, boConn, told := b.asWriter()
		ctx := context.Background()
		// Node b stores "Other." and the writer's read of it is held.
		held, release := b.st.Hold(storetest.OpReadUpdates)
		if err := b.appendAsOther(ctx, "Other."); err != nil {
			t.Fatal(err)
		}
		<-held
		b.passOn(1, "Other.", " Mine.") // based on version 1, which the writer has not read
		synctest.Wait()
		release()
		b.settle()
		b.wantSent(boConn, []int64{1, 2}, "Other. Mine.")

		b.passOn(9, "Other. Mine.", "?") // a version nobody has
		b.settle()
		b.settle()
		if got := told(); len(got) != 1 || got[0].Refused == nil || got[0].Refused.Code != CodeFutureVersion || got[0].Refused.Client != "ana-client" {
			t.Fatalf("node b was told %+v; want one future_version refusal for ana-client", got)
		}
	})
}

// TestForwardedPushNotOnABatchInFlight: a push passed on is based on a
// version of the log the sender read; the writer never takes it as a
// version of its own batch still in flight (which the log may not get:
// here another node's update took that place), but waits to read it.
func TestForwardedPushNotOnABatchInFlight(t *testing.T) {
	inBubble(t, Config{}, func(b *world) {
		bo, _, told := b.asWriter()
		ctx := context.Background()

		held, release := b.st.Hold(storetest.OpAppend)
		b.push(bo, "issues", 0, "", "B.")
		b.settle()
		<-held // the writer's batch (version 1: "B.") is in flight
		if err := b.appendAsOther(ctx, "Other."); err != nil {
			t.Fatal(err)
		}
		// Node b read version 1 ("Other.") and passes on a push based on it.
		b.passOn(1, "Other.", " Mine.")
		synctest.Wait()
		release()
		b.settle()
		b.settle()
		got := b.stored().Section("issues").Text
		if !strings.HasPrefix(got, "Other.") || strings.Count(got, "B.") != 1 || strings.Count(got, " Mine.") != 1 {
			t.Fatalf("stored %q; want Other. first, then B. and Mine. once each", got)
		}
		if got := told(); len(got) != 0 {
			t.Fatalf("node b was told %+v; want nothing (the push was done)", got)
		}
	})
}
