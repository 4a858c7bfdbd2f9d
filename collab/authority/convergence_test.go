package authority

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/editor/editortest"
)

// An in-memory world in the style of CodeMirror's collab tests: nodes
// (each an Authority) share one log, as several servers share one store;
// simulated clients edit, push, receive updates one at a time (or, for
// "batching" clients, in runs, as stock @codemirror/collab integrations
// do), lose their connections with updates unconfirmed and reconnect to
// any node. Every step is chosen by a seeded random source, so thousands
// of schedules run in a second and any failure replays from its seed.

var (
	schedules = flag.Int("schedules", 3000, "random schedules of the convergence test")
	seedFlag  = flag.Uint64("seed", 0, "run one schedule with this seed")
)

type world struct {
	t       *testing.T
	rng     *rand.Rand
	log     []store.Update
	nodes   []*node
	clients []*simClient
	apis    int
	seq     int // connection generations
	// refused counts pushes refused as diverged; broken, batching clients
	// whose copy went wrong before they pushed again.
	refused, broken int
}

type node struct {
	w         *world
	name      string
	a         *Authority
	appending bool
	expect    int64
	batch     []store.Update
	inbox     []clientMsg            // pushes waiting to be handled, in order
	tickets   map[Ticket]ticketOwner // who to tell when a command ends badly
}

type ticketOwner struct {
	c       *simClient
	conn    int
	section string
}

type clientMsg struct {
	c    *simClient
	conn int
	push Push
}

// serverMsg is what a node sends a client: an update or a refusal.
type serverMsg struct {
	update  *wire.Update
	refusal *Refusal
	section string
}

type simSection struct {
	text, synced string // what the person sees; the server's text at version
	version      int
	pending      []editor.ChangeSet
	inflight     int
}

type simClient struct {
	w        *world
	id       string
	batching bool
	node     *node
	conn     int // 0: not connected
	seq      int64
	have     bool // holds the document (else the next hello asks for a snapshot)
	sections map[string]*simSection
	toClient []serverMsg
	edits    int // updates made
	lost     int // updates given up to a resync
}

func newWorld(t *testing.T, seed uint64) *world {
	w := &world{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	doc := newDoc(t)
	doc.Section("issues").Text = "Intro text.\n\nSecond paragraph."
	doc.Section("methodology").Text = "😀 emoji 漢字"
	doc.AssignParagraphIDs()
	nodes := 1 + w.rng.IntN(2)
	cfg := Config{MaxSectionUnits: 1 << 14, MaxDocumentUnits: 1 << 16, MaxParagraphs: 1000, RecentPerSection: 8 + w.rng.IntN(40)}
	for i := range nodes {
		a, err := New(cfg, doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.nodes = append(w.nodes, &node{w: w, name: fmt.Sprint("node", i), a: a, tickets: map[Ticket]ticketOwner{}})
	}
	for i := range 2 + w.rng.IntN(4) {
		c := &simClient{w: w, id: fmt.Sprintf("client-%d", i), batching: i == 0 && w.rng.IntN(2) == 0, sections: map[string]*simSection{}}
		w.clients = append(w.clients, c)
		c.connect(w.nodes[w.rng.IntN(nodes)])
	}
	return w
}

func (w *world) fatalf(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf(format, args...)
}

// ---- nodes ----

func (n *node) handle() {
	m := n.inbox[0]
	n.inbox = n.inbox[1:]
	if m.c.conn != m.conn || m.c.node != n {
		return // the connection is gone
	}
	tk, err := n.a.Do(m.push)
	if err != nil {
		m.c.toClient = append(m.c.toClient, serverMsg{refusal: asRefusal(n.w, err), section: m.push.Section})
		return
	}
	if tk != NoTicket {
		n.tickets[tk] = ticketOwner{c: m.c, conn: m.conn, section: m.push.Section}
	}
}

func asRefusal(w *world, err error) *Refusal {
	var r *Refusal
	if !errors.As(err, &r) {
		w.fatalf("not a refusal: %v", err)
	}
	return r
}

func (n *node) startAppend() {
	if n.appending {
		return
	}
	n.expect, n.batch = n.a.Take()
	n.appending = len(n.batch) > 0
}

// finishAppend appends the batch if the log is still where it was, as
// the store's compare-and-append does; otherwise it reads what another
// node appended and absorbs it.
func (n *node) finishAppend() {
	if !n.appending {
		return
	}
	n.appending = false
	if int64(len(n.w.log)) == n.expect {
		for i, u := range n.batch {
			if u.Seq != n.expect+int64(i)+1 {
				n.w.fatalf("%s appends seq %d at %d", n.name, u.Seq, n.expect+int64(i)+1)
			}
		}
		n.w.log = append(n.w.log, n.batch...)
		n.deliver(n.a.Settle(true))
		return
	}
	n.absorb()
}

func (n *node) absorb() {
	out, err := n.a.Absorb(n.w.log[n.a.Durable().Seq:])
	if err != nil {
		n.w.fatalf("%s absorbs: %v", n.name, err)
	}
	n.deliver(out)
}

// poll is a notifier's wake-up: read the log when it moved.
func (n *node) poll() {
	if !n.appending && int64(len(n.w.log)) > n.a.Durable().Seq {
		n.absorb()
	}
}

func (n *node) deliver(s Settled) {
	for _, c := range n.w.clients {
		if c.node != n || c.conn == 0 {
			continue
		}
		for _, acc := range s.Updates {
			u := acc.Out
			c.toClient = append(c.toClient, serverMsg{update: &u})
		}
	}
	for _, o := range s.Outcomes {
		owner, ok := n.tickets[o.Ticket]
		delete(n.tickets, o.Ticket)
		// The client is told on whatever connection it has to this node:
		// after a reconnect it may have pushed the same updates again and
		// been told there was nothing to do.
		if o.Err == nil || !ok || owner.c.conn == 0 || owner.c.node != n {
			continue
		}
		owner.c.toClient = append(owner.c.toClient, serverMsg{refusal: asRefusal(n.w, o.Err), section: owner.section})
	}
}

func (n *node) addSection() {
	n.w.apis++
	if _, err := n.a.Do(AddSection{Author: Author{Client: fmt.Sprint("api-", n.w.apis), Role: access.Secretariat}, Title: fmt.Sprint("Annex ", n.w.apis), Text: "Table.\r\n\r\nNotes."}); err != nil {
		n.w.fatalf("add section: %v", err)
	}
}

// comment comments on a random quote, paragraph or section of the
// working document: its anchor then follows every edit, on every node.
func (n *node) comment() {
	doc := n.a.work
	s := doc.Sections[n.w.rng.IntN(len(doc.Sections))]
	n.w.apis++
	t := Target{Section: s.ID}
	spans := editor.Paragraphs(s.Text)
	if len(spans) > 0 && n.w.rng.IntN(4) > 0 {
		k := n.w.rng.IntN(len(spans))
		t.Para = s.Paras[k]
		u0, u1 := editor.UTF16Offset(s.Text, spans[k].Start), editor.UTF16Offset(s.Text, spans[k].End)
		if u1 > u0 && n.w.rng.IntN(3) > 0 {
			a := u0 + n.w.rng.IntN(u1-u0)
			b := a + 1 + n.w.rng.IntN(min(12, u1-a))
			t.Start, t.End, t.Version, t.Quote = a, b, s.Version, true
		}
	}
	who := Author{Client: fmt.Sprint("api-", n.w.apis), Name: "Commenter", Account: fmt.Sprint("acct-", n.w.apis), Role: access.Secretariat}
	add := AddComment{Author: who, ID: fmt.Sprint("c", n.w.apis), Target: t, Text: "A comment.", Time: t0}
	if t.Para != "" && n.w.rng.IntN(2) == 0 {
		// New wording for the words (or the paragraph): accepted later,
		// merged into whatever the clients typed meanwhile.
		add.Suggest, add.Suggestion = true, fmt.Sprint("wording ", n.w.apis)
	}
	if _, err := n.a.Do(add); err != nil && refusalCode(err) != CodeInvalid {
		// A quote that cuts a character in two is refused; nothing else may be.
		n.w.fatalf("comment %+v: %v", t, err)
	}
}

// accept merges a random suggestion not merged yet (a conflict, when the
// clients typed over its words, is a refusal and changes nothing).
func (n *node) accept() {
	var open []string
	for _, id := range n.a.wc.order {
		if c := n.a.wc.comments[id]; (c.Suggestion != "" || c.Original != "") && !c.Merged {
			open = append(open, id)
		}
	}
	if len(open) == 0 {
		return
	}
	n.w.apis++
	who := Author{Client: fmt.Sprint("api-", n.w.apis), Name: "Secretariat", Account: "sec", Role: access.Secretariat}
	_, err := n.a.Do(AcceptSuggestion{Author: who, ID: open[n.w.rng.IntN(len(open))], Response: "Merged.", Time: t0})
	switch refusalCode(err) {
	case "", CodeConflict:
	default:
		n.w.fatalf("accept: %v", err)
	}
}

// restructure renames or moves a custom section, if there is one: steps
// that change no text but take a seq among the pushes.
func (n *node) restructure() {
	var custom []string
	doc := n.a.Durable()
	for _, s := range doc.Sections {
		if s.Kind == editor.Custom {
			custom = append(custom, s.ID)
		}
	}
	if len(custom) == 0 {
		return
	}
	n.w.apis++
	sc := editor.Structure{Op: editor.OpRenameSection, Section: &editor.Section{ID: custom[n.w.rng.IntN(len(custom))]}, Title: fmt.Sprint("Renamed ", n.w.apis)}
	if n.w.rng.IntN(2) == 0 {
		i := n.w.rng.IntN(len(doc.Sections))
		sc = editor.Structure{Op: editor.OpMoveSection, Section: sc.Section, Index: &i}
	}
	// The section may be gone from the working document only if removal
	// were simulated; it is not, so a refusal is a bug.
	if _, err := n.a.Do(Restructure{Author: Author{Client: fmt.Sprint("api-", n.w.apis), Role: access.Secretariat}, Structure: sc}); err != nil {
		n.w.fatalf("restructure: %v", err)
	}
}

func (n *node) idle() bool { return !n.appending && len(n.inbox) == 0 && n.a.Pending() == 0 }

// ---- clients ----

// connect says hello to n: a snapshot when the client holds nothing,
// otherwise the updates after its seq from the log (as far as n has
// them). It fails when n is behind the client and busy.
func (c *simClient) connect(n *node) bool {
	if c.have && c.seq > n.a.Durable().Seq {
		n.poll()
		if c.seq > n.a.Durable().Seq {
			return false
		}
	}
	c.w.seq++
	c.node, c.conn, c.toClient = n, c.w.seq, nil
	for _, s := range c.sections {
		s.inflight = 0
	}
	d := n.a.Durable()
	if !c.have {
		old := c.sections
		c.sections = map[string]*simSection{}
		for _, s := range d.Sections {
			ns := &simSection{text: s.Text, synced: s.Text, version: s.Version}
			if o := old[s.ID]; o != nil && len(o.pending) > 0 {
				if o.version == s.Version && o.synced == s.Text && !c.batching {
					ns = o // still at that version: keep what is unconfirmed
				} else {
					c.lost += len(o.pending)
				}
			}
			c.sections[s.ID] = ns
		}
		c.seq, c.have = d.Seq, true
		return true
	}
	for _, u := range c.w.log[c.seq:d.Seq] {
		out := wire.Update{Seq: u.Seq, Section: u.Section, Version: u.Version, Client: u.ClientID, Changes: u.Changes, Structure: u.Payload}
		c.toClient = append(c.toClient, serverMsg{update: &out})
	}
	return true
}

func (c *simClient) drop() {
	c.conn, c.node, c.toClient = 0, nil, nil
	for _, s := range c.sections {
		s.inflight = 0
	}
}

func (c *simClient) edit() {
	ids := make([]string, 0, len(c.sections))
	for id := range c.sections {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	c.editSection(ids[c.w.rng.IntN(len(ids))])
}

func (c *simClient) editSection(id string) {
	s := c.sections[id]
	cs, err := editor.ChangeSetOf(editortest.RandomEdit(c.w.rng, s.text), editor.UTF16Len(s.text))
	if err != nil {
		c.w.fatalf("%s: %v", c.id, err)
	}
	text, err := cs.Apply(s.text)
	if err != nil {
		c.w.fatalf("%s: %v", c.id, err)
	}
	s.text = text
	s.pending = append(s.pending, cs)
	c.edits++
}

// flush pushes a section's unconfirmed updates (sometimes only the
// first few, as a client whose updates exceed a message must).
func (c *simClient) flush() {
	if c.conn == 0 {
		return
	}
	for _, id := range sortedKeys(c.sections) {
		s := c.sections[id]
		if s.inflight > 0 || len(s.pending) == 0 {
			continue
		}
		k := len(s.pending)
		if k > 1 && c.w.rng.IntN(4) == 0 {
			k = 1 + c.w.rng.IntN(k-1)
		}
		// The check: the text after the pushed updates. All of them: what
		// the person sees. A part: the server's text at version with them.
		check := editor.Checksum(s.text)
		if k < len(s.pending) {
			after, err := composeAll(s.pending[:k]).Apply(s.synced)
			if err != nil {
				c.w.fatalf("%s: %v", c.id, err)
			}
			check = editor.Checksum(after)
		}
		s.inflight = k
		push := Push{Author: Author{Client: c.id, Role: access.CoFacilitator}, Section: id, Base: s.version, Check: &check, Updates: append([]editor.ChangeSet(nil), s.pending[:k]...)}
		c.node.inbox = append(c.node.inbox, clientMsg{c: c, conn: c.conn, push: push})
	}
}

// receive handles the next message from the node; a batching client
// takes a run of foreign updates of one section at once.
func (c *simClient) receive() {
	m := c.toClient[0]
	c.toClient = c.toClient[1:]
	if m.refusal != nil {
		c.refused(m)
		return
	}
	u := m.update
	if u.Seq <= c.seq {
		return
	}
	if u.Seq != c.seq+1 {
		c.w.fatalf("%s: update %d after %d", c.id, u.Seq, c.seq)
	}
	if u.Structure != nil {
		c.seq = u.Seq
		var sc editor.Structure
		if err := json.Unmarshal(u.Structure, &sc); err != nil {
			c.w.fatalf("%v", err)
		}
		if sc.Op == editor.OpAddSection {
			c.sections[sc.Section.ID] = &simSection{text: sc.Section.Text, synced: sc.Section.Text}
		}
		return
	}
	s := c.sections[u.Section]
	own := u.Client == c.id && len(s.pending) > 0
	if c.batching && !own {
		run := []*wire.Update{u}
		for len(c.toClient) > 0 {
			n := c.toClient[0].update
			if n == nil || n.Structure != nil || n.Section != u.Section || n.Client == c.id || n.Seq != run[len(run)-1].Seq+1 {
				break
			}
			run = append(run, n)
			c.toClient = c.toClient[1:]
		}
		c.receiveRun(s, run)
		return
	}
	c.receiveOne(s, u)
}

func (c *simClient) parse(u *wire.Update) editor.ChangeSet {
	cs, err := editor.ChangeSetFromJSON(u.Changes)
	if err != nil {
		c.w.fatalf("%s: update %d: %v", c.id, u.Seq, err)
	}
	return cs
}

func (c *simClient) advance(s *simSection, u *wire.Update, cs editor.ChangeSet) {
	if u.Version != s.version+1 {
		c.w.fatalf("%s: update %d takes %s to version %d from %d", c.id, u.Seq, u.Section, u.Version, s.version)
	}
	synced, err := cs.Apply(s.synced)
	if err != nil {
		c.w.fatalf("%s: update %d does not apply to the synced text: %v", c.id, u.Seq, err)
	}
	s.synced, s.version, c.seq = synced, u.Version, u.Seq
}

// receiveOne is @codemirror/collab's receiveUpdates with one update, as
// the protocol asks.
func (c *simClient) receiveOne(s *simSection, u *wire.Update) {
	cs := c.parse(u)
	c.advance(s, u, cs)
	if u.Client == c.id && len(s.pending) > 0 {
		s.pending = s.pending[1:]
		if s.inflight > 0 {
			s.inflight--
		}
		return
	}
	for i, p := range s.pending {
		mapped := p.Map(cs, false)
		cs = cs.Map(p, true)
		s.pending[i] = mapped
	}
	text, err := cs.Apply(s.text)
	if err != nil {
		c.w.fatalf("%s: update %d does not apply locally: %v", c.id, u.Seq, err)
	}
	s.text = text
}

// receiveRun is receiveUpdates with several foreign updates at once: their
// composition is mapped over the unconfirmed updates, which CodeMirror's
// mapping can place differently from mapping over each in turn.
func (c *simClient) receiveRun(s *simSection, run []*wire.Update) {
	var changes editor.ChangeSet
	for i, u := range run {
		cs := c.parse(u)
		c.advance(s, u, cs)
		if i == 0 {
			changes = cs
		} else {
			changes = changes.Compose(cs)
		}
	}
	for i, p := range s.pending {
		mapped := p.Map(changes, false)
		changes = changes.Map(p, true)
		s.pending[i] = mapped
	}
	text, err := changes.Apply(s.text)
	if err != nil {
		// Its copy went so wrong that the run cuts a character in two:
		// it starts afresh (CodeMirror would go on with a broken text).
		c.w.broken++
		c.drop()
		c.have = false
		return
	}
	s.text = text
}

func (c *simClient) refused(m serverMsg) {
	if s := c.sections[m.section]; s != nil {
		s.inflight = 0
	}
	switch wire.KindOf(m.refusal.Code) {
	case wire.KindReconnect:
		c.drop()
	case wire.KindResync:
		if !c.batching {
			c.w.fatalf("%s, receiving one update at a time, was refused as diverged: %v", c.id, m.refusal)
		}
		c.w.refused++
		c.drop()
		c.have = false // the next hello asks for a snapshot
	default:
		c.w.fatalf("%s: refused for good: %v", c.id, m.refusal)
	}
}

func (c *simClient) pendingCount() int {
	n := 0
	for _, s := range c.sections {
		n += len(s.pending)
	}
	return n
}

// ---- the schedule ----

func (w *world) step() {
	r := w.rng.IntN(100)
	c := w.clients[w.rng.IntN(len(w.clients))]
	n := w.nodes[w.rng.IntN(len(w.nodes))]
	switch {
	case r < 22:
		c.edit()
	case r < 36:
		c.flush()
	case r < 58:
		if len(c.toClient) > 0 {
			c.receive()
		}
	case r < 72:
		if len(n.inbox) > 0 {
			n.handle()
		}
	case r < 80:
		n.startAppend()
	case r < 88:
		n.finishAppend()
	case r < 91:
		n.poll()
	case r < 94:
		if c.conn != 0 {
			c.drop()
		}
	case r < 98:
		if c.conn == 0 {
			c.connect(w.nodes[w.rng.IntN(len(w.nodes))])
		}
	default:
		switch w.rng.IntN(8) {
		case 0:
			n.addSection()
		case 1:
			n.restructure()
		case 2, 3:
			n.comment()
		case 4:
			n.accept()
		}
	}
}

// settle runs every client and node until nothing is left to do.
func (w *world) settle() {
	for round := 0; ; round++ {
		if round > 500 {
			w.fatalf("the world does not settle")
		}
		busy := false
		for _, c := range w.clients {
			if c.conn == 0 {
				c.connect(w.nodes[w.rng.IntN(len(w.nodes))])
			}
			// A batching client whose copy diverged while it had nothing
			// to push: its next edit must be refused, not applied.
			for _, id := range sortedKeys(c.sections) {
				if s := c.sections[id]; c.batching && len(s.pending) == 0 && s.text != s.synced {
					c.editSection(id)
				}
			}
			c.flush()
		}
		for _, n := range w.nodes {
			for len(n.inbox) > 0 {
				n.handle()
				busy = true
			}
			n.startAppend()
			if n.appending {
				busy = true
			}
			n.finishAppend()
			n.poll()
		}
		for _, c := range w.clients {
			for len(c.toClient) > 0 {
				c.receive()
				busy = true
			}
			if c.pendingCount() > 0 || c.conn == 0 {
				busy = true
			}
		}
		if !busy {
			return
		}
	}
}

func (w *world) check() {
	// Every node holds the document the log replays to.
	base := newDoc(w.t)
	base.Section("issues").Text = "Intro text.\n\nSecond paragraph."
	base.Section("methodology").Text = "😀 emoji 漢字"
	base.AssignParagraphIDs()
	replayed, err := New(Config{MaxSectionUnits: 1 << 20, MaxDocumentUnits: 1 << 22, MaxParagraphs: 1000, RecentPerSection: 10}, base, w.log)
	if err != nil {
		w.fatalf("replaying the log: %v", err)
	}
	want, _ := json.Marshal(replayed.Durable())
	// And the comments the log replays to, at the places it gives them.
	wantComments, _ := json.Marshal(replayed.Comments())
	for _, n := range w.nodes {
		if got, _ := json.Marshal(n.a.Comments()); string(got) != string(wantComments) {
			w.fatalf("%s's comments differ from the log's:\n%s\n%s", n.name, got, wantComments)
		}
	}
	for _, n := range w.nodes {
		if !n.idle() {
			w.fatalf("%s is not idle", n.name)
		}
		if got, _ := json.Marshal(n.a.Durable()); string(got) != string(want) {
			w.fatalf("%s differs from the log:\n%s\n%s", n.name, got, want)
		}
	}
	d := replayed.Durable()
	for _, c := range w.clients {
		if c.seq != d.Seq {
			w.fatalf("%s is at seq %d; the log at %d", c.id, c.seq, d.Seq)
		}
		for _, s := range d.Sections {
			cs := c.sections[s.ID]
			if cs == nil || cs.text != s.Text || cs.synced != s.Text || cs.version != s.Version {
				w.fatalf("%s section %s: %+v; the log has %q at %d", c.id, s.ID, cs, s.Text, s.Version)
			}
		}
		// Each update made was accepted once, or given up to a resync.
		n := 0
		for _, u := range w.log {
			if u.ClientID == c.id {
				n++
			}
		}
		if n > c.edits || n < c.edits-c.lost {
			w.fatalf("%s made %d updates (%d lost to a resync); the log holds %d of them", c.id, c.edits, c.lost, n)
		}
	}
}

func runSchedule(t *testing.T, seed uint64, steps int) *world {
	w := newWorld(t, seed)
	for range steps {
		w.step()
	}
	w.settle()
	w.check()
	return w
}

// TestConvergence runs random schedules: many clients, one or two nodes
// on one log, random interleavings, dropped connections with unconfirmed
// updates, conflicts between nodes. In the end every node and every
// client holds the text the log replays to, and every update was
// accepted exactly once (a client refused as diverged loses what it had
// not had confirmed, and only that).
func TestConvergence(t *testing.T) {
	n, steps := *schedules, 300
	if testing.Short() || raceEnabled {
		n = 300
	}
	if *seedFlag != 0 {
		runSchedule(t, *seedFlag, steps)
		return
	}
	master := uint64(time.Now().UnixNano())
	t.Logf("master seed %d (rerun one schedule with -seed)", master)
	rng := rand.New(rand.NewPCG(master, 1))
	refused, broken, commented, merged := 0, 0, 0, 0
	for i := range n {
		seed := rng.Uint64()
		ok := t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			w := runSchedule(t, seed, steps)
			refused, broken = refused+w.refused, broken+w.broken
			commented += len(w.nodes[0].a.Comments())
			for _, c := range w.nodes[0].a.Comments() {
				if c.Merged {
					merged++
				}
			}
		})
		if !ok {
			t.Fatalf("schedule %d failed; rerun with -run TestConvergence -seed %d", i, seed)
		}
	}
	t.Logf("%d schedules; %d pushes of batching clients refused as diverged, %d batching clients broken before they pushed; %d comments followed the edits, %d suggestions merged", n, refused, broken, commented, merged)
	if merged == 0 {
		t.Fatal("no schedule merged a suggestion")
	}
	if commented == 0 {
		t.Fatal("no schedule made a comment")
	}
}

// ---- helpers ----

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// composeAll composes updates made one after the other.
func composeAll(sets []editor.ChangeSet) editor.ChangeSet {
	out := sets[0]
	for _, c := range sets[1:] {
		out = out.Compose(c)
	}
	return out
}
