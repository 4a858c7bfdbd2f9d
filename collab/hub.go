package collab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

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
	// RecentPerSection is how many accepted updates of each section stay in
	// memory for rebasing pushes made at older versions.
	RecentPerSection int
	// RecentUpdates is how many encoded updates stay in memory for clients
	// catching up; older catch-ups read the store.
	RecentUpdates int
	// SnapshotEvery writes a snapshot after this many updates.
	SnapshotEvery int
	// SnapshotKeep is how many updates a snapshot leaves in the log.
	SnapshotKeep int
	// UnloadAfter unloads a document this long after its last connection left.
	UnloadAfter time.Duration
	// PresenceIdle hides a person from presence after this long without a
	// message from them (they come back with their next message).
	PresenceIdle time.Duration
	// SendQueue is the number of frames a connection may have waiting; a
	// connection whose queue is full is disconnected to catch up later.
	SendQueue int
	// MaxBatch caps the updates committed together in one append.
	MaxBatch int
	// CommitInterval is the least time between the starts of two appends:
	// under load, pushes arriving meanwhile join the next batch, so fewer,
	// larger commits and broadcast frames serve the same updates.
	CommitInterval time.Duration
	// PingEvery is how often connections are pinged; one from which
	// nothing (not even a pong) arrives for 2.4 times as long is closed.
	PingEvery time.Duration
}

// silence is how long a connection may stay silent before it is closed.
func (c HubConfig) silence() time.Duration { return c.PingEvery * 12 / 5 }

func (c HubConfig) withDefaults() HubConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxSectionUnits, 512<<10)
	def(&c.MaxDocumentUnits, 2<<20)
	def(&c.RecentPerSection, 5000)
	def(&c.RecentUpdates, 10000)
	def(&c.SnapshotEvery, 500)
	def(&c.SnapshotKeep, 10000)
	def(&c.SendQueue, 256)
	def(&c.MaxBatch, 4096)
	if c.UnloadAfter <= 0 {
		c.UnloadAfter = 2 * time.Minute
	}
	if c.PresenceIdle <= 0 {
		c.PresenceIdle = 5 * time.Minute
	}
	if c.PingEvery <= 0 {
		c.PingEvery = 25 * time.Second
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = 5 * time.Millisecond
	}
	return c
}

// hubSection is the hub's bookkeeping for one section.
type hubSection struct {
	// recent holds the section's latest accepted updates; recent[i] took
	// the section from version base+i to base+i+1.
	base   int
	recent []editor.Update
}

// encodedUpdate is an accepted update ready to send: its JSON form inside
// an updates message is built once for all connections.
type encodedUpdate struct {
	seq int64
	raw json.RawMessage
}

// hubMsg is what connections send to the hub.
type hubMsg struct {
	conn      *Conn
	kind      int
	in        *inMsg
	structure *structureReq
}

const (
	msgJoin = iota
	msgLeave
	msgPush
	msgPresence
	msgActivity
	msgStructure
	msgCommit // the commit interval has passed
)

type structureWaiter struct {
	req     *structureReq
	section editor.Section
}

// commitResult reports the end of one append to the store.
type commitResult struct {
	err error
}

// Hub owns one open document: its current text, versions, paragraph ids,
// the connections subscribed to it and their presence. Everything in the
// "owned by the hub goroutine" group is touched by that goroutine only;
// connections talk to it through inbox.
//
// An update is applied in memory, appended to the store together with the
// others of its batch, and only broadcast (and so confirmed to its sender)
// once the append has returned: acknowledged means durable. While an
// append is in flight, new pushes wait in queued and new joins in parked,
// so the in-memory state seen by any client is always durable state.
type Hub struct {
	id    string
	srv   *Server
	cfg   HubConfig
	log   *slog.Logger
	inbox chan hubMsg
	// done is closed when the hub goroutine has exited; every send to
	// inbox selects on it too.
	done chan struct{}
	// stop asks the hub to shut down (server shutdown).
	stop chan struct{}
	// loaded is closed when the document is loaded (or failed to load).
	loaded  chan struct{}
	loadErr error
	// published is the latest durable state, for readers outside the hub;
	// the hub replaces it (never modifies it) after each append.
	published atomic.Pointer[editor.Document]

	// owned by the hub goroutine
	doc        *editor.Document
	sections   map[string]*hubSection
	recent     []encodedUpdate // newest last, at most cfg.RecentUpdates
	conns      map[*Conn]struct{}
	clients    map[string]*Conn
	batch      []store.Update
	batchOut   []outUpdate
	units      int             // UTF-16 length of all sections together
	encoded    json.RawMessage // h.doc as JSON at encodedSeq, for welcomes
	encodedSeq int64
	waiters    []structureWaiter // structural changes answered when the batch is durable
	committing bool
	lastCommit time.Time // when the last append started
	commitWait bool      // a msgCommit is on its way
	commitDone chan commitResult
	queued     []hubMsg // pushes that arrived while an append was in flight
	parked     []hubMsg // joins that arrived while an append was in flight
	sinceSnap  int
	snapping   bool
	snapDone   chan error
	emptySince time.Time
	colors     int
}

func newHub(srv *Server, id string) *Hub {
	cfg := srv.hubCfg
	return &Hub{
		id:         id,
		srv:        srv,
		cfg:        cfg,
		log:        srv.log.With("doc", id),
		inbox:      make(chan hubMsg, 256),
		done:       make(chan struct{}),
		stop:       make(chan struct{}),
		loaded:     make(chan struct{}),
		sections:   map[string]*hubSection{},
		conns:      map[*Conn]struct{}{},
		clients:    map[string]*Conn{},
		commitDone: make(chan commitResult, 1),
		snapDone:   make(chan error, 1),
	}
}

// send delivers m to the hub unless the hub has exited or ctx is done; it
// reports whether the hub took it.
func (h *Hub) send(ctx context.Context, m hubMsg) bool {
	select {
	case h.inbox <- m:
		return true
	case <-h.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// loadDocument reads the latest snapshot and replays the log after it.
func loadDocument(ctx context.Context, st store.Store, id string) (*editor.Document, []store.Update, error) {
	doc, err := st.LoadSnapshot(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var replayed []store.Update
	for {
		ups, err := st.ReadUpdates(ctx, id, doc.Seq, 1000)
		if err != nil {
			return nil, nil, err
		}
		if len(ups) == 0 {
			return doc, replayed, nil
		}
		for _, u := range ups {
			if err := replay(doc, u); err != nil {
				return nil, nil, fmt.Errorf("document %s: replay update %d: %w", id, u.Seq, err)
			}
		}
		replayed = append(replayed, ups...)
	}
}

// replay applies one logged update to doc, exactly as the hub did when it
// accepted it.
func replay(doc *editor.Document, u store.Update) error {
	if u.Seq != doc.Seq+1 {
		return fmt.Errorf("update %d follows %d: the log has a gap", u.Seq, doc.Seq)
	}
	switch u.Kind {
	case store.KindText:
		cs, err := editor.ChangeSetFromJSON(u.Changes)
		if err != nil {
			return err
		}
		if _, err := doc.ApplyChanges(u.Section, cs); err != nil {
			return err
		}
	case store.KindStructure:
		if err := applyStructure(doc, u.Payload); err != nil {
			return err
		}
		doc.Seq = u.Seq
	default:
		return fmt.Errorf("unknown update kind %q", u.Kind)
	}
	doc.Updated = u.Time
	return nil
}

// structureChange is the payload of a structure update.
type structureChange struct {
	Op      string          `json:"op"`
	Section *editor.Section `json:"section,omitempty"`
}

func applyStructure(doc *editor.Document, payload json.RawMessage) error {
	var sc structureChange
	if err := json.Unmarshal(payload, &sc); err != nil {
		return err
	}
	switch sc.Op {
	case "add_section":
		if sc.Section == nil || doc.Section(sc.Section.ID) != nil {
			return fmt.Errorf("add_section: missing or duplicate section")
		}
		doc.Sections = append(doc.Sections, *sc.Section)
		doc.NextCustom++
		doc.NextPara += len(sc.Section.Paras)
		return nil
	default:
		return fmt.Errorf("unknown structure op %q", sc.Op)
	}
}

// run is the hub goroutine.
func (h *Hub) run() {
	defer close(h.done)
	defer h.srv.removeHub(h)
	ctx := context.Background()
	doc, ups, err := loadDocument(ctx, h.srv.store, h.id)
	if err != nil {
		h.loadErr = err
		close(h.loaded)
		h.refuseWaiting(err)
		return
	}
	h.doc = doc
	for _, s := range doc.Sections {
		h.sections[s.ID] = &hubSection{base: s.Version}
		h.units += editor.UTF16Len(s.Text)
	}
	// Replayed updates are the newest ones: keep them for catch-up and
	// for rebasing pushes made at their versions.
	for _, u := range ups {
		if hs := h.sections[u.Section]; hs != nil && u.Kind == store.KindText {
			cs, _ := editor.ChangeSetFromJSON(u.Changes) // parsed once already by replay
			hs.recent = append(hs.recent, editor.Update{Changes: cs, ClientID: u.ClientID})
		}
		h.remember(h.encodeStored(u))
	}
	for _, hs := range h.sections {
		hs.base -= len(hs.recent)
	}
	h.published.Store(doc.Clone())
	close(h.loaded)
	h.emptySince = h.srv.now()
	h.log.Debug("document loaded", "seq", doc.Seq, "replayed", len(ups))

	tick := time.NewTicker(h.tickEvery())
	defer tick.Stop()
	lastPing := time.Now()
	for {
		select {
		case m := <-h.inbox:
			h.handle(m)
		case res := <-h.commitDone:
			h.finishCommit(res)
			if h.doc == nil {
				return
			}
		case err := <-h.snapDone:
			h.snapping = false
			if err != nil {
				h.log.Warn("snapshot failed", "err", err)
			}
		case <-tick.C:
			if h.idle() {
				h.unload("idle")
				return
			}
			h.expirePresence()
			h.closeSilent()
			if now := time.Now(); now.Sub(lastPing) >= h.cfg.PingEvery {
				lastPing = now
				for c := range h.conns {
					c.pingNow()
				}
			}
		case <-h.stop:
			h.shutdown()
			return
		}
	}
}

// closeSilent closes the connections nothing has come from, not even a
// pong, for the silence limit. (Their readers wait in the poller, where
// no read deadline runs.)
func (h *Hub) closeSilent() {
	limit := time.Now().Add(-h.cfg.silence()).UnixNano()
	for c := range h.conns {
		if c.lastRead.Load() < limit {
			c.kick(CodeIdle, "nothing was heard from this connection for too long; reconnect")
		}
	}
}

func (h *Hub) tickEvery() time.Duration {
	d := h.cfg.UnloadAfter / 4
	if p := h.cfg.PresenceIdle / 4; p < d {
		d = p
	}
	if p := h.cfg.PingEvery / 5; p < d {
		d = p // pings go out within a fifth of their period
	}
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	return d
}

// refuseWaiting answers connections that were waiting for a hub that could
// not load.
func (h *Hub) refuseWaiting(err error) {
	code, msg := CodeUnavailable, "the document could not be loaded"
	if errors.Is(err, store.ErrNotFound) {
		code, msg = CodeNotFound, "no such document"
	} else {
		h.log.Error("load document", "err", err)
	}
	for {
		select {
		case m := <-h.inbox:
			if m.kind == msgJoin {
				m.conn.kick(code, msg)
			}
			if m.structure != nil {
				m.structure.reply <- structureReply{err: err}
			}
		default:
			return
		}
	}
}

func (h *Hub) idle() bool {
	return len(h.conns) == 0 && !h.committing && len(h.batch) == 0 && len(h.queued) == 0 && len(h.parked) == 0 &&
		h.srv.now().Sub(h.emptySince) >= h.cfg.UnloadAfter
}

// unload writes a final snapshot and lets the hub exit.
func (h *Hub) unload(why string) {
	h.waitSnapshot()
	if err := h.writeSnapshot(); err != nil {
		h.log.Warn("final snapshot failed; the log still holds every update", "err", err)
	}
	h.log.Debug("document unloaded", "why", why, "seq", h.doc.Seq)
}

// shutdown ends the hub for a server shutdown: the append in flight
// finishes (its updates are confirmed), pushes not yet in a batch are left
// to the clients to send again, a snapshot is written and every
// connection is told to reconnect.
func (h *Hub) shutdown() {
	if !h.committing && len(h.batch) > 0 {
		// A batch waiting for the commit interval is committed now.
		h.commitWait = false
		h.lastCommit = time.Time{}
		h.startCommit()
	}
	if h.committing {
		res := <-h.commitDone
		h.finishCommitOnly(res)
	}
	for c := range h.conns {
		c.kick(CodeShuttingDown, "the server is restarting; reconnect to continue")
	}
	for _, m := range h.queued {
		if m.structure != nil {
			m.structure.reply <- structureReply{err: errHubGone}
		}
	}
	h.queued = nil
	if h.doc != nil {
		h.unload("shutdown")
	}
}

func (h *Hub) handle(m hubMsg) {
	switch m.kind {
	case msgJoin:
		// A newcomer sees durable state only: it waits while a batch is
		// applied but not yet committed.
		if h.committing || len(h.batch) > 0 {
			h.parked = append(h.parked, m)
			return
		}
		h.join(m.conn, m.in)
	case msgLeave:
		h.leave(m.conn)
	case msgPush:
		if _, ok := h.conns[m.conn]; !ok {
			return
		}
		if h.committing {
			h.queued = append(h.queued, m)
			return
		}
		h.push(m.conn, m.in)
		h.startCommit()
	case msgPresence:
		if _, ok := h.conns[m.conn]; !ok {
			return
		}
		h.presence(m.conn, m.in)
	case msgActivity:
		h.touch(m.conn)
	case msgCommit:
		h.commitWait = false
		h.startCommit()
	case msgStructure:
		if h.committing {
			h.queued = append(h.queued, m)
			return
		}
		h.addSection(m.structure)
		h.startCommit()
	}
}

// addSection applies a structural change (a new custom section) and adds
// it to the batch; its requester is answered when the batch is durable.
func (h *Hub) addSection(req *structureReq) {
	if n := editor.UTF16Len(req.text); n > h.cfg.MaxSectionUnits || h.units+n > h.cfg.MaxDocumentUnits {
		req.reply <- structureReply{err: fmt.Errorf("%w: the section text is too long", editor.ErrInvalid)}
		return
	}
	sec, err := h.doc.AddCustomSection(req.title, req.text)
	if err != nil {
		req.reply <- structureReply{err: err}
		return
	}
	payload, _ := json.Marshal(structureChange{Op: "add_section", Section: sec})
	now := h.srv.now().UTC()
	h.doc.Seq++
	h.doc.Updated = now
	h.sections[sec.ID] = &hubSection{base: sec.Version}
	h.units += editor.UTF16Len(sec.Text)
	h.batch = append(h.batch, store.Update{Seq: h.doc.Seq, Kind: store.KindStructure, ClientID: "api", Payload: payload, Time: now})
	h.batchOut = append(h.batchOut, outUpdate{Seq: h.doc.Seq, Client: "api", Structure: payload})
	h.waiters = append(h.waiters, structureWaiter{req: req, section: *sec})
}

// join subscribes a connection that said hello: it gets a welcome with the
// document (or only the updates it missed) and everyone's presence.
func (h *Hub) join(c *Conn, hello *inMsg) {
	if old := h.clients[c.clientID]; old != nil && old != c {
		old.kick(CodeReplaced, "another connection said hello with this client id")
		h.leave(old)
	}
	h.conns[c] = struct{}{}
	h.clients[c.clientID] = c
	c.peer.Color = peerColor(h.colors)
	h.colors++
	c.lastSeen = h.srv.now()

	w := welcomeMsg{Type: MsgWelcome, Protocol: ProtocolVersion, Client: c.clientID, Seq: h.doc.Seq,
		Peers: h.peerList(c), Limits: limitsInfo{MaxMessageBytes: int(h.srv.cfg.MaxMessageBytes), MaxSectionUnits: h.cfg.MaxSectionUnits}}
	var catchup [][]byte
	if hello.Seq != nil && *hello.Seq <= h.doc.Seq {
		var ok bool
		catchup, ok = h.catchUp(*hello.Seq)
		if !ok {
			w.Document = h.docJSON()
		}
	} else {
		w.Document = h.docJSON()
	}
	doc := w.Document
	w.Document = nil
	data, err := json.Marshal(w)
	if err != nil {
		h.log.Error("encode welcome", "err", err)
		c.kick(CodeUnavailable, "internal error")
		return
	}
	queued := false
	if doc == nil {
		queued = c.queue(data)
	} else {
		// The shared encoded document goes in as a part of its own.
		head := append(data[:len(data)-1:len(data)-1], `,"document":`...)
		queued = c.queueParts(head, doc, closingBrace)
	}
	if !queued {
		h.dropSlow(c)
		return
	}
	for _, f := range catchup {
		if !c.queue(f) {
			h.dropSlow(c)
			return
		}
	}
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		c.logger().Debug("joined", "snapshot", doc != nil, "catchup_frames", len(catchup))
	}
	if c.role == RoleEditor {
		h.broadcastPeers([]Peer{c.peer}, nil, c)
	}
}

var closingBrace = []byte("}")

// docJSON returns the document encoded, once per seq: a crowd of viewers
// joining shares one encoding instead of making one each.
func (h *Hub) docJSON() json.RawMessage {
	if h.encoded == nil || h.encodedSeq != h.doc.Seq {
		data, err := json.Marshal(h.doc)
		if err != nil {
			h.log.Error("encode document", "err", err)
			return nil
		}
		h.encoded, h.encodedSeq = data, h.doc.Seq
	}
	return h.encoded
}

// catchUp returns frames with every update after seq, from memory or the
// store; false when they are no longer kept and a snapshot is needed.
func (h *Hub) catchUp(seq int64) ([][]byte, bool) {
	if seq == h.doc.Seq {
		return nil, true
	}
	var raws []json.RawMessage
	if len(h.recent) > 0 && h.recent[0].seq <= seq+1 {
		for _, e := range h.recent {
			if e.seq > seq {
				raws = append(raws, e.raw)
			}
		}
	} else {
		ups, err := h.srv.store.ReadUpdates(context.Background(), h.id, seq, 0)
		if err != nil {
			if !errors.Is(err, store.ErrCompacted) {
				h.log.Warn("catch-up read failed; sending a snapshot", "err", err)
			}
			return nil, false
		}
		for _, u := range ups {
			raws = append(raws, h.encodeStored(u).raw)
		}
	}
	var frames [][]byte
	for len(raws) > 0 {
		n := min(len(raws), 500)
		frames = append(frames, updatesFrame(raws[:n]))
		raws = raws[n:]
	}
	return frames, true
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

func (h *Hub) leave(c *Conn) {
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	if h.clients[c.clientID] == c {
		delete(h.clients, c.clientID)
	}
	if len(h.conns) == 0 {
		h.emptySince = h.srv.now()
	}
	if c.role == RoleEditor && !c.hidden {
		h.broadcastPeers(nil, []string{c.clientID}, nil)
	}
}

// push rebases a client's updates over what was accepted since their base
// version, applies them and adds them to the current batch.
func (h *Hub) push(c *Conn, in *inMsg) {
	h.touch(c)
	fail := func(code, msg string) {
		c.sendError(code, msg, in.Section, in.Version)
	}
	if c.role != RoleEditor {
		fail(CodeForbidden, "this connection may not edit")
		return
	}
	sec := h.doc.Section(in.Section)
	hs := h.sections[in.Section]
	if sec == nil || hs == nil {
		fail(CodeUnknownSection, fmt.Sprintf("no section %q in this document", in.Section))
		return
	}
	base := *in.Version
	if base > sec.Version {
		fail(CodeFutureVersion, fmt.Sprintf("section %q is at version %d; the push is based on %d", in.Section, sec.Version, base))
		return
	}
	if base < hs.base {
		fail(CodeFutureVersion, fmt.Sprintf("version %d of section %q is too old to rebase; reload the document", base, in.Section))
		return
	}
	ups := make([]editor.Update, 0, len(in.Updates))
	for i, pu := range in.Updates {
		cs, err := editor.ChangeSetFromJSON(pu.Changes)
		if err != nil {
			fail(CodeBadChanges, fmt.Sprintf("update %d: %v", i, err))
			return
		}
		ups = append(ups, editor.Update{Changes: cs, ClientID: c.clientID})
	}
	// The client's updates follow each other from the text at the base
	// version; check the lengths before rebasing, which assumes them.
	over := hs.recent[base-hs.base:]
	length := editor.UTF16Len(sec.Text)
	if len(over) > 0 {
		length = over[0].Changes.LenBefore()
	}
	for i, u := range ups {
		if u.Changes.LenBefore() != length {
			fail(CodeBadChanges, fmt.Sprintf("update %d applies to a text of %d units; the text at that point has %d", i, u.Changes.LenBefore(), length))
			return
		}
		length = u.Changes.LenAfter()
	}
	ups = editor.RebaseStepwise(ups, over)
	if len(ups) == 0 {
		return // all already accepted: the client has them through catch-up
	}
	for i, u := range ups {
		grow := u.Changes.LenAfter() - u.Changes.LenBefore()
		if u.Changes.LenAfter() > h.cfg.MaxSectionUnits || h.units+grow > h.cfg.MaxDocumentUnits {
			fail(CodeTooLarge, fmt.Sprintf("update %d: a section may hold %d characters and a document %d", i, h.cfg.MaxSectionUnits, h.cfg.MaxDocumentUnits))
			return
		}
		pc, err := h.doc.ApplyChanges(in.Section, u.Changes)
		if err != nil {
			// Earlier updates of this push stay accepted: each was valid
			// on its own, and the client sees them confirmed.
			fail(CodeBadChanges, fmt.Sprintf("update %d: %v", i, err))
			return
		}
		h.units += grow
		sec = h.doc.Section(in.Section)
		hs.recent = append(hs.recent, u)
		raw, _ := json.Marshal(u.Changes)
		now := h.srv.now().UTC()
		h.doc.Updated = now
		h.batch = append(h.batch, store.Update{
			Seq: h.doc.Seq, Section: in.Section, Version: sec.Version, ClientID: c.clientID,
			Author: c.peer.Name, Changes: raw, Time: now,
		})
		out := outUpdate{Seq: h.doc.Seq, Section: in.Section, Version: sec.Version, Client: c.clientID, Changes: raw}
		if pc.Changed {
			out.Paras = pc.Paras
			out.Merged = pc.Merged
		}
		h.batchOut = append(h.batchOut, out)
		h.mapPresence(in.Section, u.Changes)
	}
}

// startCommit hands the current batch to the store, in its own goroutine
// so the hub keeps serving while the disk syncs.
func (h *Hub) startCommit() {
	if h.committing || h.commitWait || len(h.batch) == 0 {
		return
	}
	if wait := h.cfg.CommitInterval - time.Since(h.lastCommit); wait > 0 {
		h.commitWait = true
		time.AfterFunc(wait, func() {
			select {
			case h.inbox <- hubMsg{kind: msgCommit}:
			case <-h.done:
			}
		})
		return
	}
	h.lastCommit = time.Now()
	h.committing = true
	batch := h.batch
	expect := batch[0].Seq - 1
	st, id := h.srv.store, h.id
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.commitDone <- commitResult{err: st.Append(ctx, id, expect, batch)}
	}()
}

// finishCommit confirms a durable batch to everyone, then serves the joins
// and pushes that waited for it.
func (h *Hub) finishCommit(res commitResult) {
	if !h.finishCommitOnly(res) {
		return
	}
	parked, queued := h.parked, h.queued
	h.parked, h.queued = nil, nil
	for _, m := range parked {
		h.join(m.conn, m.in)
	}
	for i, m := range queued {
		if m.kind == msgStructure {
			h.addSection(m.structure)
		} else if _, ok := h.conns[m.conn]; ok {
			h.push(m.conn, m.in)
		}
		if len(h.batch) >= h.cfg.MaxBatch {
			h.queued = append(h.queued, queued[i+1:]...)
			break
		}
	}
	h.startCommit()
	h.maybeSnapshot()
}

// finishCommitOnly ends the append in flight: broadcast on success; on
// failure every connection is sent away to reconnect and the hub unloads,
// because the store is the truth and the in-memory state may be ahead of
// it. It reports whether the hub goes on.
func (h *Hub) finishCommitOnly(res commitResult) bool {
	h.committing = false
	batch, out, waiters := h.batch, h.batchOut, h.waiters
	h.batch, h.batchOut, h.waiters = nil, nil, nil
	if res.err != nil {
		h.log.Error("append failed; unloading the document", "err", res.err, "updates", len(batch))
		for c := range h.conns {
			c.kick(CodeUnavailable, "the update could not be stored; reconnect to continue")
		}
		for _, w := range waiters {
			w.req.reply <- structureReply{err: res.err}
		}
		for _, m := range h.queued {
			if m.structure != nil {
				m.structure.reply <- structureReply{err: errHubGone}
			}
		}
		h.queued = nil
		h.doc = nil
		return false
	}
	h.published.Store(h.doc.Clone())
	for _, w := range waiters {
		sec := w.section
		w.req.reply <- structureReply{section: &sec}
	}
	raws := make([]json.RawMessage, len(out))
	for i := range out {
		raw, err := json.Marshal(out[i])
		if err != nil {
			// Cannot happen for values built here; say so loudly if it does.
			h.log.Error("encode update", "seq", out[i].Seq, "err", err)
		}
		raws[i] = raw
		h.remember(encodedUpdate{seq: out[i].Seq, raw: raw})
	}
	h.sinceSnap += len(batch)
	for i := 0; i < len(raws); i += 500 {
		frame := updatesFrame(raws[i:min(i+500, len(raws))])
		h.broadcast(frame)
	}
	for _, hs := range h.sections {
		if over := len(hs.recent) - h.cfg.RecentPerSection; over > 0 {
			hs.recent = append([]editor.Update(nil), hs.recent[over:]...)
			hs.base += over
		}
	}
	return true
}

func (h *Hub) remember(e encodedUpdate) {
	h.recent = append(h.recent, e)
	if over := len(h.recent) - h.cfg.RecentUpdates; over > h.cfg.RecentUpdates/4 {
		h.recent = append([]encodedUpdate(nil), h.recent[over:]...)
	}
}

func (h *Hub) encodeStored(u store.Update) encodedUpdate {
	out := outUpdate{Seq: u.Seq, Section: u.Section, Version: u.Version, Client: u.ClientID, Changes: u.Changes}
	if u.Kind == store.KindStructure {
		out.Structure = u.Payload
	}
	raw, _ := json.Marshal(out)
	return encodedUpdate{seq: u.Seq, raw: raw}
}

// broadcast queues a frame on every connection; one that cannot take it
// is disconnected rather than waited for.
func (h *Hub) broadcast(frame []byte) {
	for c := range h.conns {
		if !c.queue(frame) {
			h.dropSlow(c)
		}
	}
}

func (h *Hub) dropSlow(c *Conn) {
	c.kick(CodeSlowConsumer, "too many messages waiting; reconnect to catch up")
	h.leave(c)
}

func (h *Hub) maybeSnapshot() {
	if h.sinceSnap < h.cfg.SnapshotEvery || h.snapping || h.committing {
		return
	}
	snap := h.doc.Clone()
	h.sinceSnap = 0
	h.snapping = true
	st, keep := h.srv.store, h.cfg.SnapshotKeep
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.snapDone <- st.PutSnapshot(ctx, snap, keep)
	}()
}

func (h *Hub) waitSnapshot() {
	if h.snapping {
		if err := <-h.snapDone; err != nil {
			h.log.Warn("snapshot failed", "err", err)
		}
		h.snapping = false
	}
}

func (h *Hub) writeSnapshot() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.srv.store.PutSnapshot(ctx, h.doc, h.cfg.SnapshotKeep)
}
