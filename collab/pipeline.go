package collab

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// The commit pipeline is the only part of a hub that talks to the store.
// Each call runs in a goroutine of its own, so the hub keeps serving while
// the disk syncs, and reports back on results; the hub goroutine owns the
// pipeline's state and acts on the results (Hub.result).
//
//   - append: the batch the authority hands out, at most one at a time.
//     On a version conflict (another writer appended first) the same
//     goroutine reads what was appended; the authority absorbs it and
//     the batch is tried again on top. Any other failure unloads the
//     document: every waiting push and join is answered, nothing not
//     durable is confirmed. When the store answers that another writer
//     has the turn (store.ErrBusy), the batch is given back and the
//     pipeline waits until the log moves (the notifier), or BusyRetry
//     has passed, before it reads and tries again.
//   - absorb: a notifier said the log moved; read after the durable seq.
//   - catch-up: a joining client is further behind than the memory.
//   - snapshot: every SnapshotEvery durable updates, of the durable
//     document (never of a batch not yet stored).
type pipeline struct {
	results chan any
	wake    chan struct{} // the notifier's wake-up, coalesced

	appending  bool      // an append is in flight
	absorbing  bool      // an absorb read is in flight
	catchups   int       // catch-up reads in flight
	snapping   bool      // a snapshot is being written
	commitWait bool      // a commitTick is on its way
	lastCommit time.Time // when the last append started
	forced     bool      // shutting down: append at once
	behind     bool      // the log moved while an append was in flight
	busy       bool      // another writer has the turn: wait for its append
	conflicts  int       // version conflicts in a row
	sinceSnap  int       // durable updates since the last snapshot
	// snapEvery is how many updates to wait between snapshots: SnapshotEvery,
	// more for a document with many comments (see maybeSnapshot).
	snapEvery int
	stopWatch func()
	// known is the highest seq this hub stored or is storing, for the
	// notifier's goroutine to tell its own appends from others'.
	known atomic.Int64
}

// The results the pipeline's goroutines report.
type (
	appendResult struct {
		err error
		// foreign holds what another writer appended, read after a
		// version conflict (err is then nil, or the read's error).
		foreign  []store.Update
		conflict bool
		// busy: another writer has the turn (err is then nil).
		busy bool
	}
	absorbResult struct {
		ups []store.Update
		err error
	}
	catchUpResult struct {
		j   joinMsg
		ups []store.Update
		err error
	}
	snapResult struct {
		err error
		// annotations is the size of the comments the snapshot held.
		annotations int
	}
	commitTick struct{}
	// busyTick: BusyRetry has passed since an append was refused as busy.
	busyTick struct{}
)

func (p *pipeline) init() {
	p.results = make(chan any)
	p.wake = make(chan struct{}, 1)
}

// quiet reports whether nothing is in flight that the hub must wait for.
func (p *pipeline) quiet() bool {
	return !p.appending && !p.absorbing && p.catchups == 0 && !p.snapping && !p.busy
}

// report hands a result to the hub, unless the hub has exited.
func (h *Hub) report(r any) {
	select {
	case h.pipe.results <- r:
	case <-h.done:
	}
}

// storeCtx bounds one store call.
func (h *Hub) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.cfg.StoreTimeout)
}

// load reads the latest snapshot and the updates after it, with up to
// LoadHistory of those before it (they fill the authority's histories).
func (p *pipeline) load(h *Hub) (*editor.Document, []store.Update, error) {
	ctx, cancel := h.storeCtx()
	defer cancel()
	st := h.srv.store
	for range 3 {
		snap, err := st.LoadSnapshot(ctx, h.id)
		if err != nil {
			return nil, nil, err
		}
		first, err := st.LogStart(ctx, h.id)
		if err != nil {
			return nil, nil, err
		}
		first = max(1, first, snap.Seq+1-int64(h.cfg.LoadHistory))
		first = min(first, snap.Seq+1)
		log, err := st.ReadUpdates(ctx, h.id, first-1, 0)
		if errors.Is(err, store.ErrCompacted) {
			continue // a snapshot moved the log's start meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		return snap, log, nil
	}
	return nil, nil, errors.New("the log kept moving while it was read")
}

// watch subscribes to the notifier: another writer's appends wake the hub.
func (p *pipeline) watch(h *Hub, n store.Notifier) {
	p.stopWatch = n.Watch(context.Background(), h.id, func(seq int64) {
		if seq <= p.known.Load() {
			return // this hub's own append
		}
		select {
		case p.wake <- struct{}{}:
		default:
		}
	})
}

func (p *pipeline) stopWatching() {
	if p.stopWatch != nil {
		p.stopWatch()
	}
}

// startCommit hands the authority's batch to the store, unless an append
// or an absorb is in flight, or the commit interval has not passed (then
// a commitTick comes back when it has).
func (h *Hub) startCommit() {
	p := &h.pipe
	if p.appending || p.absorbing || p.commitWait || p.busy || h.auth.Pending() == 0 {
		return
	}
	if p.behind {
		h.absorbLater() // first: its result starts the commit again
		return
	}
	if !p.forced && h.auth.Pending() < h.cfg.MaxBatch {
		if wait := h.cfg.CommitInterval - time.Since(p.lastCommit); wait > 0 {
			p.commitWait = true
			time.AfterFunc(wait, func() { h.report(commitTick{}) })
			return
		}
	}
	expect, ups := h.auth.Take()
	if len(ups) == 0 {
		return
	}
	p.lastCommit = time.Now()
	p.appending = true
	p.known.Store(ups[len(ups)-1].Seq)
	st, id := h.srv.store, h.id
	go func() {
		ctx, cancel := h.storeCtx()
		defer cancel()
		start := time.Now()
		r := appendResult{err: st.Append(ctx, id, expect, ups)}
		h.srv.metrics.commitSeconds.Observe(time.Since(start).Seconds())
		if r.err == nil {
			h.srv.metrics.commits.Inc()
			h.srv.metrics.updatesCommitted.Add(float64(len(ups)))
		}
		switch {
		case errors.Is(r.err, store.ErrVersionConflict):
			r.conflict = true
			r.foreign, r.err = st.ReadUpdates(ctx, id, expect, 0)
		case errors.Is(r.err, store.ErrBusy):
			// Nothing of the batch is stored: the turn-holder's append,
			// whatever its seq, must wake the hub.
			p.known.Store(expect)
			r.busy, r.err = true, nil
		}
		h.report(r)
	}()
}

// absorbSoon acts on the notifier's word that the log moved. With
// updates of its own waiting for the commit interval or an append in
// flight, the hub reads what moved just before its next append (see
// startCommit), so that the append does not meet it as a conflict;
// otherwise it reads now.
func (h *Hub) absorbSoon() {
	p := &h.pipe
	if h.auth.Pending() > 0 && (p.commitWait || p.appending) {
		p.behind = true
		return
	}
	h.absorbLater()
}

// absorbLater reads what another writer appended, now or once the append
// in flight has ended.
func (h *Hub) absorbLater() {
	p := &h.pipe
	if p.appending || p.absorbing {
		p.behind = true
		return
	}
	p.behind = false
	p.absorbing = true
	st, id, after := h.srv.store, h.id, h.auth.Durable().Seq
	go func() {
		ctx, cancel := h.storeCtx()
		defer cancel()
		ups, err := st.ReadUpdates(ctx, id, after, 0)
		h.report(absorbResult{ups: ups, err: err})
	}()
}

// readCatchUp reads the updates a joining client missed.
func (p *pipeline) readCatchUp(h *Hub, j joinMsg, after int64) {
	p.catchups++
	st, id := h.srv.store, h.id
	go func() {
		ctx, cancel := h.storeCtx()
		defer cancel()
		ups, err := st.ReadUpdates(ctx, id, after, 0)
		h.report(catchUpResult{j: j, ups: ups, err: err})
	}()
}

// maybeSnapshot writes a snapshot of the durable document in the
// background every SnapshotEvery updates — or, for a document with many
// comments (which every snapshot holds, with their anchors), after one
// more update per 256 bytes of them, so that writing snapshots costs
// about the same share of the work whatever the comments: a document
// with 1,000 comments (some 400 KB) takes about 2,000 updates between
// snapshots, whose replay on loading takes milliseconds.
func (h *Hub) maybeSnapshot() {
	p := &h.pipe
	if p.sinceSnap < max(h.cfg.SnapshotEvery, p.snapEvery) || p.snapping {
		return
	}
	p.sinceSnap = 0
	p.snapping = true
	st, snap := h.srv.store, h.auth.Snapshot()
	// Never compact past the last version kept: what was written since
	// is rebuilt from it and the log (see keepPoint).
	keep := h.snapshotKeep()
	go func() {
		ctx, cancel := h.storeCtx()
		defer cancel()
		doc := snap()
		h.report(snapResult{err: st.PutSnapshot(ctx, doc, keep), annotations: len(doc.Annotations)})
	}()
}

// finalSnapshot writes a snapshot of the durable document before the hub
// exits, after any snapshot in flight.
func (p *pipeline) finalSnapshot(h *Hub) {
	for p.snapping {
		h.result(<-p.results)
	}
	ctx, cancel := h.storeCtx()
	defer cancel()
	if err := h.srv.store.PutSnapshot(ctx, h.auth.Snapshot()(), h.snapshotKeep()); err != nil {
		h.srv.metrics.storeError(opSnapshot)
		h.log.Warn("final snapshot failed; the log still holds every update", "err", err)
	}
}

// result acts on what a store call reported; false means the document
// cannot go on (the store failed) and the hub must exit.
func (h *Hub) result(r any) bool {
	p := &h.pipe
	switch r := r.(type) {
	case commitTick:
		p.commitWait = false
		h.startCommit()
	case forwardTick:
		h.forwardDue(r)
	case busyTick:
		if p.busy {
			// No word of the turn-holder's append: read, then try again.
			p.busy = false
			h.absorbLater()
			h.startCommit()
		}
	case appendResult:
		p.appending = false
		switch {
		case r.busy:
			h.srv.metrics.appendsBusy.Inc()
			h.auth.Untake()
			p.busy = true
			time.AfterFunc(h.cfg.BusyRetry, func() { h.report(busyTick{}) })
		case r.err != nil:
			op := opAppend
			if r.conflict {
				op = opRead // of what the other writer appended
			}
			h.srv.metrics.storeError(op)
			h.fail(r.err)
			return false
		case r.conflict && len(r.foreign) == 0:
			h.srv.metrics.storeError(opAppend)
			h.fail(errors.New("the store reported a version conflict and holds nothing new"))
			return false
		case r.conflict:
			p.conflicts++
			h.srv.metrics.versionConflicts.Inc()
			if p.conflicts%100 == 0 {
				h.log.Warn("appends keep meeting other writers' updates", "conflicts", p.conflicts)
			}
			if !h.absorb(r.foreign) {
				return false
			}
		default:
			p.conflicts = 0
			h.fanout(h.auth.Settle(true))
			h.maybeSnapshot()
		}
		if p.behind {
			h.absorbLater()
		}
		h.startCommit()
	case absorbResult:
		p.absorbing = false
		if r.err != nil {
			h.srv.metrics.storeError(opRead)
			h.fail(r.err)
			return false
		}
		if len(r.ups) > 0 {
			p.busy = false // the log moved: the turn is likely over
			if !h.absorb(r.ups) {
				return false
			}
		}
		if len(h.fwd.held) > 0 {
			h.retryHeld()
		}
		if p.behind {
			h.absorbLater()
		}
		h.startCommit()
	case catchUpResult:
		p.catchups--
		h.caughtUp(r.j, r.ups, r.err)
	case snapResult:
		p.snapping = false
		p.snapEvery = h.cfg.SnapshotEvery + r.annotations/256
		if r.err != nil {
			h.srv.metrics.storeError(opSnapshot)
			h.log.Warn("snapshot failed", "err", r.err)
		}
	}
	return true
}

// absorb takes in updates another writer stored; false when they do not
// apply (the hub must exit and the document be loaded afresh).
func (h *Hub) absorb(ups []store.Update) bool {
	s, err := h.auth.Absorb(ups)
	h.pipe.known.Store(max(h.pipe.known.Load(), h.auth.Durable().Seq))
	if err != nil {
		h.log.Error("updates from another writer do not apply; unloading the document", "err", err)
		h.srv.removeHub(h)
		h.fanout(s)
		h.kickAll(CodeUnavailable, "the document must be reloaded; reconnect to continue")
		return false
	}
	h.fanout(s)
	h.maybeSnapshot()
	return true
}

// fail ends the hub after the store failed: nothing that was not stored
// is confirmed; every waiting command and connection is answered.
func (h *Hub) fail(err error) {
	h.log.Error("append failed; unloading the document", "err", err, "updates", h.auth.Pending())
	// Forgotten first, so that the clients told to reconnect load the
	// document afresh instead of finding this hub on its way out.
	h.srv.removeHub(h)
	s := h.auth.Settle(false)
	for i := range s.Outcomes {
		s.Outcomes[i].Err = errStore
	}
	h.fanout(s)
	h.kickAll(CodeUnavailable, "the update could not be stored; reconnect to continue")
}

// kickAll closes every connection, joined or joining.
func (h *Hub) kickAll(code, msg string) {
	for m := range h.members {
		h.srv.metrics.joined(m, -1)
		m.kick(code, msg)
	}
	for m := range h.joining {
		m.kick(code, msg)
	}
	clear(h.members)
	clear(h.joining)
	clear(h.clients)
}

// errStore answers commands whose updates the store did not take.
var errStore = errors.New("the store did not take the update; try again")

// snapshotKeep is how many updates a snapshot leaves in the log:
// SnapshotKeep, and never fewer than those since the last version kept
// (unless versions are not kept automatically).
func (h *Hub) snapshotKeep() int {
	if h.cfg.KeepEvery < 0 {
		return h.cfg.SnapshotKeep
	}
	return max(h.cfg.SnapshotKeep, int(h.auth.Durable().Seq-h.keptSeq))
}
