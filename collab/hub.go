package collab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// HubConfig bounds what one document's hub keeps and accepts. Zero values
// take the defaults of withDefaults.
type HubConfig struct {
	// MaxSectionUnits caps a section's length in UTF-16 units.
	MaxSectionUnits int
	// MaxDocumentUnits caps the sum of all sections' lengths.
	MaxDocumentUnits int
	// MaxParagraphs caps the paragraphs of a document.
	MaxParagraphs int
	// RecentPerSection is how many accepted updates of each section, at
	// least, stay in memory for rebasing pushes made at older versions.
	RecentPerSection int
	// RecentUpdates is how many encoded updates stay in memory for clients
	// catching up; older catch-ups read the store.
	RecentUpdates int
	// LoadHistory is how many updates from before the latest snapshot a
	// document reads back when it loads, so that pushes made at versions
	// before a restart are still rebased; a push older than that is told
	// too_old and its client catches up (from the log) and pushes again.
	LoadHistory int
	// SnapshotEvery writes a snapshot after this many updates.
	SnapshotEvery int
	// SnapshotKeep is how many updates a snapshot leaves in the log (at
	// least: never those since the last version kept).
	SnapshotKeep int
	// KeepEvery keeps an edited document whole as a version this often
	// (default KeepEvery, an hour; negative: never, for tests of the log's
	// compaction).
	KeepEvery time.Duration
	// UnloadAfter unloads a document this long after its last connection left.
	UnloadAfter time.Duration
	// PresenceIdle hides a person from presence after this long without a
	// message from them (they come back with their next message).
	PresenceIdle time.Duration
	// PresenceBeat is how often a node repeats its people's presence to
	// the other nodes serving the document, when the store is a
	// store.Relay (relay.go). Another node's people are dropped after
	// three beats without word from it, so a node that died takes them
	// along (default 5 s).
	PresenceBeat time.Duration
	// SendQueue is the number of messages a connection may have waiting; a
	// connection whose queue is full is disconnected to catch up later.
	SendQueue int
	// MaxBatch is the number of waiting updates from which an append starts
	// at once, without waiting for CommitInterval.
	MaxBatch int
	// CommitInterval is the least time between the starts of two appends:
	// under load, pushes arriving meanwhile join the next batch, so fewer,
	// larger commits and broadcast frames serve the same updates.
	CommitInterval time.Duration
	// BusyRetry is how long an append refused because another writer has
	// the turn (store.ErrBusy) waits for word that the log moved before
	// it reads and tries again (default 100 ms).
	BusyRetry time.Duration
	// ForwardWait is how long a push passed to another node (forward.go)
	// may take to come back stored before this node does it itself
	// (default 2 s; negative: pushes are never passed on).
	ForwardWait time.Duration
	// PingEvery is how often connections are pinged; one from which
	// nothing (not even a pong) arrives for 2.4 times as long is closed.
	PingEvery time.Duration
	// (Durations are measured with the time package's monotonic clock,
	// which tests replace with testing/synctest's; the server's injected
	// clock stamps what is stored.)
	// StoreTimeout bounds each call to the store.
	StoreTimeout time.Duration
	// WriteTimeout bounds one write to a connection: a client that reads
	// nothing for that long, its buffers full, is cut off without a close
	// frame.
	WriteTimeout time.Duration
}

// silence is how long a connection may stay silent before it is closed.
func (c HubConfig) silence() time.Duration { return c.PingEvery * 12 / 5 }

func (c HubConfig) withDefaults() HubConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	// Sizes come from the one table of limits, so import, editing and
	// rendering agree.
	def(&c.MaxSectionUnits, editor.Limits.SectionUnits)
	def(&c.MaxDocumentUnits, editor.Limits.DocumentUnits)
	def(&c.MaxParagraphs, editor.Limits.Paragraphs)
	def(&c.RecentPerSection, 5000)
	def(&c.RecentUpdates, 10000)
	def(&c.LoadHistory, 500)
	def(&c.SnapshotEvery, 500)
	def(&c.SnapshotKeep, 10000)
	def(&c.SendQueue, 256)
	def(&c.MaxBatch, 4096)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.KeepEvery == 0 {
		c.KeepEvery = KeepEvery
	}
	dur(&c.UnloadAfter, 2*time.Minute)
	dur(&c.PresenceIdle, 5*time.Minute)
	dur(&c.PresenceBeat, 5*time.Second)
	dur(&c.PingEvery, 25*time.Second)
	dur(&c.CommitInterval, 5*time.Millisecond)
	dur(&c.BusyRetry, 100*time.Millisecond)
	if c.ForwardWait == 0 {
		c.ForwardWait = 2 * time.Second
	}
	dur(&c.StoreTimeout, 30*time.Second)
	dur(&c.WriteTimeout, 10*time.Second)
	return c
}

func (c HubConfig) authority() authority.Config {
	return authority.Config{MaxSectionUnits: c.MaxSectionUnits, MaxDocumentUnits: c.MaxDocumentUnits,
		MaxParagraphs: c.MaxParagraphs, RecentPerSection: c.RecentPerSection}
}

// hubMsg is what a hub's inbox carries: joinMsg, leaveMsg, pushMsg,
// presenceMsg, activityMsg or doMsg.
type hubMsg interface{ hubMsg() }

// joinMsg: a connection said hello.
type joinMsg struct {
	m   *member
	seq *int64
	// issued is the key the server made for a client that brought none,
	// told in the welcome.
	issued string
}

// leaveMsg: a connection is over.
type leaveMsg struct{ m *member }

// pushMsg: a connection's updates to one section.
type pushMsg struct {
	m       *member
	section string
	version int
	check   uint32
	updates []editor.ChangeSet
}

// presenceMsg: where a connection's person is.
type presenceMsg struct {
	m       *member
	section string
	version *int
	ranges  []Range
}

// activityMsg: a connection said something that changes nothing (ping).
type activityMsg struct{ m *member }

// doMsg: the server acting for a person (Server.do); reply gets the
// outcome once the command's updates are durable, or why not.
type doMsg struct {
	cmd   authority.Command
	reply chan doReply
}

type doReply struct {
	out authority.Outcome
	err error
}

func (joinMsg) hubMsg()     {}
func (leaveMsg) hubMsg()    {}
func (pushMsg) hubMsg()     {}
func (presenceMsg) hubMsg() {}
func (activityMsg) hubMsg() {}
func (doMsg) hubMsg()       {}
func (revokeMsg) hubMsg()   {}
func (queryMsg) hubMsg()    {}

// queryMsg runs fn on the hub's goroutine, which owns the authority, to
// read from it; reply says whether it ran.
type queryMsg struct {
	fn    func(*authority.Authority)
	reply chan bool
}

// revokeMsg closes the connections of an account that lost its access
// (removed from a team, signed out everywhere).
type revokeMsg struct{ account string }

// owner is who waits for an accepted command: a connection's push (told
// only if it fails), or a doMsg's reply.
type owner struct {
	m *member
	// client is the push's client id: if m has gone, the client's
	// current connection is told instead (it may have pushed the same
	// updates again and been answered with nothing to do).
	client  string
	section string
	version int
	reply   chan doReply
	comment bool // the command adds a comment (counted once durable)
	// remote is the node that passed the push on (forward.go): it is
	// told if the push fails.
	remote string
}

// encodedUpdate is a durable update ready to send: its JSON form inside
// an updates message is built once for all connections.
type encodedUpdate struct {
	seq int64
	raw json.RawMessage
}

// Hub runs one open document. Its goroutine owns the document's
// authority (which decides what is accepted), the connections and their
// presence, and starts the store calls of the commit pipeline
// (pipeline.go), which report back to it. Connections and the server
// talk to it through inbox.
//
// Connections only ever see durable state: a newcomer is welcomed with
// the durable document, and accepted updates are broadcast (and so
// confirmed to their sender) once the store has them.
type Hub struct {
	id  string
	srv *Server
	cfg HubConfig
	log *slog.Logger

	// Shared with senders. Every send to inbox also selects on done,
	// which is closed when the hub stops taking messages; sendMu makes
	// sure none is left in inbox unanswered after that (see exit).
	inbox  chan hubMsg
	done   chan struct{}
	sendMu sync.RWMutex
	exited bool
	// stop asks the hub to shut down (server shutdown).
	stop chan struct{}
	// loaded is closed when the document is loaded (or failed to load).
	loaded  chan struct{}
	loadErr error
	// published is the durable document, for readers outside the hub
	// (shared: never modified).
	published atomic.Pointer[editor.Document]
	// lastKept is when the document was last kept as a version of its
	// own (keepPoint), and keptSeq the seq of the last version kept (any):
	// the log is never compacted past it, so every state since can be
	// rebuilt from that version and the log.
	lastKept time.Time
	keptSeq  int64

	// owned by the hub goroutine: the document
	auth       *authority.Authority
	owners     map[authority.Ticket]owner
	fwd        forwarding      // pushes passed between nodes (forward.go)
	recent     []encodedUpdate // durable updates, newest last, for catch-up
	encoded    json.RawMessage // the durable document as JSON at encodedSeq
	encodedSeq int64

	// owned by the hub goroutine: the pipeline's state
	pipe pipeline

	// owned by the hub goroutine: connections and presence
	members    map[*member]struct{}
	clients    map[string]*member
	joining    map[*member]bool // waiting for a catch-up read
	colors     int
	emptySince time.Time
	lastPing   time.Time

	// the people of other nodes and this node's to them (relay.go)
	relay relayState
}

func newHub(srv *Server, id string) *Hub {
	h := &Hub{
		id:      id,
		srv:     srv,
		cfg:     srv.hubCfg,
		log:     srv.log.With("doc", id),
		inbox:   make(chan hubMsg, 256),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
		loaded:  make(chan struct{}),
		owners:  map[authority.Ticket]owner{},
		members: map[*member]struct{}{},
		clients: map[string]*member{},
		joining: map[*member]bool{},
	}
	h.pipe.init()
	return h
}

// send delivers m to the hub unless the hub has stopped taking messages
// or cancel is closed; it reports whether the hub took it. A message the
// hub took is always handled or answered.
func (h *Hub) send(m hubMsg, cancel <-chan struct{}) bool {
	h.sendMu.RLock()
	defer h.sendMu.RUnlock()
	if h.exited {
		return false
	}
	select {
	case h.inbox <- m:
		return true
	case <-h.done:
		return false
	case <-cancel:
		return false
	}
}

// run is the hub goroutine.
func (h *Hub) run() {
	defer h.exit()
	if err := h.load(); err != nil {
		h.loadErr = err
		if !errors.Is(err, store.ErrNotFound) {
			h.srv.metrics.storeError(opLoad)
			h.log.Error("load document", "err", err)
		}
		close(h.loaded)
		return
	}
	close(h.loaded)
	h.emptySince = time.Now()
	h.lastPing = h.emptySince
	tick := time.NewTicker(h.tickEvery())
	defer tick.Stop()
	for {
		select {
		case m := <-h.inbox:
			h.handle(m)
		case r := <-h.pipe.results:
			if !h.result(r) {
				return
			}
		case <-h.pipe.wake:
			h.absorbSoon()
		case <-h.relay.wake:
			h.relayReceived()
		case <-h.relay.tick:
			h.relayTick()
		case <-tick.C:
			if h.idle() {
				h.unload("idle")
				return
			}
			h.expirePresence()
			h.expireNodes()
			h.closeSilent()
			if now := time.Now(); now.Sub(h.lastPing) >= h.cfg.PingEvery {
				h.lastPing = now
				for m := range h.members {
					m.conn.Ping()
				}
			}
		case <-h.stop:
			h.shutdown()
			return
		}
	}
}

// load reads the latest snapshot and the log the store keeps, and builds
// the document's authority and the catch-up memory from them.
func (h *Hub) load() error {
	snap, log, err := h.pipe.load(h)
	if err != nil {
		return err
	}
	a, err := authority.New(h.cfg.authority(), snap, log)
	if err != nil {
		return err
	}
	h.auth = a
	doc := a.Durable()
	for _, u := range log {
		h.remember(encodeStored(u))
	}
	h.published.Store(doc)
	h.pipe.known.Store(doc.Seq)
	if vs, err := h.srv.store.ListVersions(context.Background(), h.id); err == nil {
		for _, v := range vs {
			h.keptSeq = max(h.keptSeq, v.Seq)
		}
	}
	if w, ok := h.srv.store.(store.Notifier); ok {
		h.pipe.watch(h, w)
	}
	if r, ok := h.srv.store.(store.Relay); ok {
		h.startRelay(r)
	}
	h.log.Debug("document loaded", "seq", doc.Seq, "log", len(log))
	return nil
}

func (h *Hub) tickEvery() time.Duration {
	d := h.cfg.UnloadAfter / 4
	if p := h.cfg.PresenceIdle / 4; p < d {
		d = p
	}
	if p := h.cfg.PresenceBeat; p < d {
		d = p // other nodes' people expire within a beat of their time
	}
	if p := h.cfg.PingEvery / 5; p < d {
		d = p // pings go out within a fifth of their period
	}
	return max(d, 10*time.Millisecond)
}

// closeSilent closes the connections nothing has come from, not even a
// pong, for the silence limit. (Connections waiting in the poller have no
// read deadline.)
func (h *Hub) closeSilent() {
	limit := time.Now().Add(-h.cfg.silence())
	for m := range h.members {
		if m.conn.LastRead().Before(limit) {
			m.kick(CodeIdle, "nothing was heard from this connection for too long; reconnect")
			h.leave(m)
		}
	}
}

func (h *Hub) idle() bool {
	return len(h.members) == 0 && len(h.joining) == 0 && h.auth.Pending() == 0 && h.pipe.quiet() &&
		time.Since(h.emptySince) >= h.cfg.UnloadAfter
}

// unload writes a final snapshot; the hub then exits.
func (h *Hub) unload(why string) {
	h.pipe.finalSnapshot(h)
	h.log.Debug("document unloaded", "why", why, "seq", h.auth.Durable().Seq)
}

// shutdown ends the hub for a server shutdown: everything accepted is
// stored (and confirmed), a snapshot is written and every connection is
// told to reconnect.
func (h *Hub) shutdown() {
	h.pipe.forced, h.pipe.commitWait = true, false
	for {
		h.startCommit()
		if h.pipe.quiet() { // forced: with anything pending, an append is out
			break
		}
		if !h.result(<-h.pipe.results) {
			return
		}
	}
	for m := range h.members {
		m.kick(CodeShuttingDown, "the server is restarting; reconnect to continue")
	}
	for m := range h.joining {
		m.kick(CodeShuttingDown, "the server is restarting; reconnect to continue")
	}
	h.unload("shutdown")
}

// exit stops the hub taking messages and answers those it took and did
// not handle: the registry forgets it first, so a sender refused here
// finds a new hub when it tries again.
func (h *Hub) exit() {
	h.srv.removeHub(h)
	h.pipe.stopWatching()
	h.stopRelay()
	close(h.done)
	for m := range h.members { // told to reconnect by shutdown
		h.srv.metrics.joined(m, -1)
	}
	h.sendMu.Lock()
	h.exited = true
	h.sendMu.Unlock()
	code, msg := CodeShuttingDown, "the document is closing; reconnect"
	if errors.Is(h.loadErr, store.ErrNotFound) {
		code, msg = CodeNotFound, "no such document"
	} else if h.loadErr != nil {
		code, msg = CodeUnavailable, "the document could not be loaded"
	}
	for {
		select {
		case m := <-h.inbox:
			switch m := m.(type) {
			case joinMsg:
				m.m.kick(code, msg)
			case doMsg:
				err := h.loadErr
				if err == nil {
					err = errHubGone
				}
				m.reply <- doReply{err: err}
			case queryMsg:
				m.reply <- false
			}
		default:
			return
		}
	}
}

func (h *Hub) handle(msg hubMsg) {
	switch m := msg.(type) {
	case joinMsg:
		h.join(m)
	case leaveMsg:
		h.leave(m.m)
	case pushMsg:
		if _, ok := h.members[m.m]; ok {
			h.push(m)
		}
	case presenceMsg:
		if _, ok := h.members[m.m]; ok {
			h.presence(m)
		}
	case activityMsg:
		if _, ok := h.members[m.m]; ok {
			h.touch(m.m)
		}
	case doMsg:
		h.do(m)
	case queryMsg:
		m.fn(h.auth)
		m.reply <- true
	case revokeMsg:
		for mm := range h.members {
			if mm.account != "" && mm.account == m.account {
				mm.kick(CodeForbidden, "you may no longer read this document: sign in again")
			}
		}
	}
}

// recheck closes the connections of those who may no longer read the
// live draft, after a change of workflow (the draft no longer public).
func (h *Hub) recheck() {
	c := authority.ContextOf(h.auth.Durable(), h.srv.now())
	for m := range h.members {
		if access.Check(m.access, access.ReadDraft, c) != nil {
			m.kick(CodeForbidden, "this draft is not open to you any more")
		}
	}
}

// do runs a command for the server; it is answered when durable.
func (h *Hub) do(m doMsg) {
	tk, err := h.auth.Do(m.cmd)
	switch {
	case err != nil:
		m.reply <- doReply{err: err}
	case tk == authority.NoTicket:
		m.reply <- doReply{}
	default:
		_, comment := m.cmd.(authority.AddComment)
		h.owners[tk] = owner{reply: m.reply, comment: comment}
		h.startCommit()
	}
}

// push offers a connection's updates to the authority.
func (h *Hub) push(p pushMsg) {
	m := p.m
	h.touch(m)
	if m.role != RoleEditor {
		m.sendError(CodeForbidden, "this connection may not edit", p.section, &p.version)
		return
	}
	if to := h.writer(); to != "" {
		h.forward(to, p)
		return
	}
	h.pushHere(p)
}

// pushHere does a connection's push on this node's authority.
func (h *Hub) pushHere(p pushMsg) {
	m := p.m
	if len(h.fwd.waiting[m.clientID]) > 0 {
		h.fwd.skip[m.clientID] += len(p.updates) // see cameBack
	}
	check := p.check
	tk, err := h.auth.Do(authority.Push{
		Author:  authority.Author{Client: m.clientID, Name: m.peer.Name, Account: m.account, Role: m.access},
		Section: p.section, Base: p.version, Check: &check, Updates: p.updates, Time: h.srv.now().UTC(),
	})
	if err != nil {
		h.refused(m, err, p.section, p.version)
		return
	}
	if tk != authority.NoTicket {
		h.owners[tk] = owner{m: m, client: m.clientID, section: p.section, version: p.version}
		h.startCommit()
	}
}

// refused tells a connection its push was refused; a diverged client is
// closed so that it takes a snapshot.
func (h *Hub) refused(m *member, err error, section string, version int) {
	r := refusalOf(err)
	m.sendError(r.Code, r.Message, section, &version)
	if r.Code == CodeDiverged {
		m.conn.Close(CloseResync, r.Code)
		h.leave(m)
	}
}

// refusalOf is the refusal err says, or unavailable for a store's error.
func refusalOf(err error) *authority.Refusal {
	var r *authority.Refusal
	if !errors.As(err, &r) {
		r = &authority.Refusal{Code: CodeUnavailable, Message: "the update could not be stored; reconnect to continue"}
	}
	return r
}

// fanout sends what became durable to every connection, moves presence
// through it, and ends the commands that were settled.
func (h *Hub) fanout(s authority.Settled) {
	if len(s.Updates) > 0 {
		h.published.Store(h.auth.Durable())
		raws := make([]json.RawMessage, len(s.Updates))
		for i, acc := range s.Updates {
			raw, err := json.Marshal(acc.Out)
			if err != nil {
				// Cannot happen for values built here; say so loudly if it does.
				h.log.Error("encode update", "seq", acc.Out.Seq, "err", err)
			}
			raws[i] = raw
			h.remember(encodedUpdate{seq: acc.Out.Seq, raw: raw})
			if len(h.fwd.waiting) > 0 {
				h.cameBack(acc.Out.Client)
			}
			if acc.Out.Structure == nil {
				h.mapPresence(acc.Out.Section, acc.Changes)
				h.mapRemote(acc.Out.Section, acc.Out.Version, acc.Changes)
			}
		}
		for i := 0; i < len(raws); i += 500 {
			h.broadcast(updatesFrame(raws[i:min(i+500, len(raws))]))
		}
		for _, acc := range s.Updates {
			if acc.Out.Structure != nil {
				h.recheck()
				break
			}
		}
		h.keepPoint()
		h.pipe.sinceSnap += len(s.Updates)
	}
	for _, o := range s.Outcomes {
		ow, ok := h.owners[o.Ticket]
		if !ok {
			continue
		}
		delete(h.owners, o.Ticket)
		switch {
		case ow.reply != nil:
			if ow.comment && o.Err == nil {
				h.srv.metrics.comments.Inc()
			}
			ow.reply <- doReply{out: o, err: o.Err}
		case o.Err != nil && ow.remote != "":
			h.refuseRemote(ow.remote, ow.client, o.Err, ow.section, ow.version)
		case o.Err != nil:
			m := ow.m
			if _, ok := h.members[m]; !ok {
				m = h.clients[ow.client]
			}
			if m != nil {
				h.refused(m, o.Err, ow.section, ow.version)
			}
		}
	}
}

// join welcomes a connection that said hello with the durable document
// (or only the updates it missed) and everyone's presence. A catch-up
// older than the memory reads the store first.
func (h *Hub) join(j joinMsg) {
	m := j.m
	if old := h.clients[m.clientID]; old != nil && old != m {
		old.kick(CodeReplaced, "another connection said hello with this key")
		h.leave(old)
	}
	doc := h.auth.Durable()
	if j.seq != nil && *j.seq < doc.Seq && !h.inMemory(*j.seq) {
		h.joining[m] = true
		h.pipe.readCatchUp(h, j, *j.seq)
		return
	}
	h.welcome(j, nil)
}

// inMemory reports whether the updates after seq are all in memory.
func (h *Hub) inMemory(seq int64) bool {
	return len(h.recent) > 0 && h.recent[0].seq <= seq+1
}

// welcome sends the welcome and the catch-up after the updates read from
// the store (read holds the encoded updates after the hello's seq up to
// some seq, or is nil), and makes the connection a member.
func (h *Hub) welcome(j joinMsg, read []encodedUpdate) {
	m := j.m
	doc := h.auth.Durable()
	h.members[m] = struct{}{}
	h.srv.metrics.joined(m, 1)
	h.clients[m.clientID] = m
	m.peer.Color = peerColor(h.colors)
	h.colors++
	m.lastSeen = time.Now()

	w := welcomeMsg{Type: MsgWelcome, Protocol: ProtocolVersion, Client: m.clientID, Key: j.issued, Seq: doc.Seq,
		Peers: h.allPeers(m), Limits: limitsInfo{MaxMessageBytes: int(h.srv.cfg.MaxMessageBytes), MaxSectionUnits: h.cfg.MaxSectionUnits}}
	var raws []json.RawMessage
	snapshot := j.seq == nil || *j.seq > doc.Seq
	if !snapshot && *j.seq < doc.Seq {
		from := *j.seq
		for _, e := range read {
			raws = append(raws, e.raw)
			from = e.seq
		}
		if from < doc.Seq {
			if h.inMemory(from) {
				for _, e := range h.recent {
					if e.seq > from {
						raws = append(raws, e.raw)
					}
				}
			} else {
				snapshot, raws = true, nil
			}
		}
	}
	data, err := json.Marshal(w)
	if err != nil {
		h.log.Error("encode welcome", "err", err)
		m.kick(CodeUnavailable, "internal error")
		h.leave(m)
		return
	}
	queued := false
	if snapshot {
		// The shared encoded document goes in as a part of its own.
		head := append(data[:len(data)-1:len(data)-1], `,"document":`...)
		queued = m.conn.Queue(head, h.docJSON(), closingBrace)
	} else {
		queued = m.conn.Queue(data)
	}
	for len(raws) > 0 && queued {
		n := min(len(raws), 500)
		queued = m.conn.Queue(updatesFrame(raws[:n]))
		raws = raws[n:]
	}
	if !queued {
		h.dropSlow(m)
		return
	}
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		h.log.Debug("joined", "client", m.clientID, "snapshot", snapshot)
	}
	if m.role == RoleEditor {
		h.broadcastPeers([]Peer{m.peer}, nil, m)
	}
}

// caughtUp ends a join that waited for a catch-up read.
func (h *Hub) caughtUp(j joinMsg, ups []store.Update, err error) {
	if !h.joining[j.m] {
		return // it left meanwhile
	}
	delete(h.joining, j.m)
	if err != nil {
		if !errors.Is(err, store.ErrCompacted) {
			h.srv.metrics.storeError(opRead)
			h.log.Warn("catch-up read failed; sending a snapshot", "err", err)
		}
		j.seq = nil
		h.welcome(j, nil)
		return
	}
	read := make([]encodedUpdate, len(ups))
	for i, u := range ups {
		read[i] = encodeStored(u)
	}
	h.welcome(j, read)
}

var closingBrace = []byte("}")

// docJSON returns the durable document encoded, once per seq: a crowd of
// viewers joining shares one encoding instead of making one each.
func (h *Hub) docJSON() json.RawMessage {
	doc := h.auth.Durable()
	if h.encoded == nil || h.encodedSeq != doc.Seq {
		data, err := json.Marshal(doc)
		if err != nil {
			h.log.Error("encode document", "err", err)
			return nil
		}
		h.encoded, h.encodedSeq = data, doc.Seq
	}
	return h.encoded
}

func updatesFrame(raws []json.RawMessage) []byte {
	data, err := json.Marshal(struct {
		Type    string            `json:"type"`
		Updates []json.RawMessage `json:"updates"`
	}{MsgUpdates, raws})
	if err != nil {
		panic(fmt.Sprintf("encode updates frame: %v", err)) // every raw is JSON made by json.Marshal
	}
	return data
}

func (h *Hub) leave(m *member) {
	delete(h.joining, m)
	if _, ok := h.members[m]; !ok {
		return
	}
	delete(h.members, m)
	h.srv.metrics.joined(m, -1)
	if h.clients[m.clientID] == m {
		delete(h.clients, m.clientID)
	}
	if len(h.members) == 0 {
		h.emptySince = time.Now()
	}
	if m.role == RoleEditor && !m.hidden {
		h.broadcastPeers(nil, []string{m.clientID}, nil)
	}
	h.reshowRemote(m.clientID)
}

func (h *Hub) remember(e encodedUpdate) {
	h.recent = append(h.recent, e)
	if over := len(h.recent) - h.cfg.RecentUpdates; over > h.cfg.RecentUpdates/4 {
		h.recent = append([]encodedUpdate(nil), h.recent[over:]...)
	}
}

// encodeStored encodes a logged update as clients receive it.
func encodeStored(u store.Update) encodedUpdate {
	out := outUpdate{Seq: u.Seq, Section: u.Section, Version: u.Version, Client: u.ClientID, Changes: u.Changes, Paras: u.Paras, Merged: u.Merged}
	if u.Kind == store.KindStructure {
		out.Structure = u.Payload
	}
	raw, _ := json.Marshal(out)
	return encodedUpdate{seq: u.Seq, raw: raw}
}

// broadcast queues a frame on every connection; one that cannot take it
// is disconnected rather than waited for.
func (h *Hub) broadcast(frame []byte) {
	for m := range h.members {
		if !m.conn.Queue(frame) {
			h.dropSlow(m)
		}
	}
}

func (h *Hub) dropSlow(m *member) {
	m.kickSlow()
	h.leave(m)
}

// KeepEvery is how often an edited document is kept whole as a version
// ("kept automatically"), whatever its log's compaction drops, so that
// anything written can be restored: once an hour while it is edited.
const KeepEvery = time.Hour

// keepPoint keeps the durable document as a version when the last one
// kept is KeepEvery old (by the server's clock), in the background.
func (h *Hub) keepPoint() {
	now := h.srv.now()
	if h.cfg.KeepEvery < 0 || now.Sub(h.lastKept) < h.cfg.KeepEvery {
		return
	}
	h.lastKept = now
	doc, st := h.auth.Durable(), h.srv.store
	h.keptSeq = max(h.keptSeq, doc.Seq)
	go func() {
		ctx, cancel := h.storeCtx()
		defer cancel()
		if err := st.PutVersion(ctx, doc, "kept automatically", now.UTC()); err != nil {
			h.srv.metrics.storeError(opVersion)
			h.log.Warn("keep a version", "err", err)
		}
	}()
}
