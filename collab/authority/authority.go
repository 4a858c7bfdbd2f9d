// Package authority decides what becomes of one document: it takes typed
// commands from any source (a websocket connection, or the server acting
// for a person) and turns them into updates of the document's log.
//
// An Authority knows no sockets, no store and no clock: values in, values
// out. It holds the durable document (what the store has), the batch of
// accepted commands waiting to be stored, and for each section its recent
// updates with their inverses (for rebasing pushes made at older
// versions, dropping those already accepted, and rebuilding the text a
// push was made on to refuse a client whose copy has diverged). Whoever drives it
// (the hub) stores what Take hands out and reports back with Settle, or
// with Absorb when another writer got to the log first.
//
// # Concurrency
//
// An Authority is not safe for concurrent use; one goroutine owns it.
//
// # Caveats
//
// The durable document returned by Durable is shared, never modified by
// the authority afterwards (it is replaced); callers must not modify it
// either.
package authority

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Config bounds what an authority accepts and keeps.
type Config struct {
	// MaxSectionUnits caps a section's length in UTF-16 units.
	MaxSectionUnits int
	// MaxDocumentUnits caps the sum of all sections' lengths.
	MaxDocumentUnits int
	// MaxParagraphs caps the paragraphs of the document: a change that
	// would add paragraphs beyond it is refused (one that does not add
	// any is taken even in a document over it, made under other limits).
	MaxParagraphs int
	// RecentPerSection is how many durable updates of each section are
	// kept, at least, for rebasing pushes made at older versions (up to a
	// quarter more, between trims).
	RecentPerSection int
}

// Author is who a command acts for.
type Author struct {
	// Client is the identity updates are deduplicated and confirmed by:
	// a connection's client id, which only that client can claim, or a
	// fresh id for each command the server makes for a person. It must
	// not be empty.
	Client string
	// Name is the person's name, kept in the log.
	Name string
	// Account is the person's account ("" for none).
	Account string
	// Role is what the person is for this document's BPF: every command
	// is checked against the permission matrix (package access) before
	// anything else.
	Role access.Role
}

// Command is something asked of the authority: Push, AddSection,
// Restructure or SetWorkflow.
type Command interface{ command() }

// Push offers a client's updates to one section. They were made one after
// the other on top of version Base of the section.
type Push struct {
	Author  Author
	Section string
	Base    int
	// Check, when set, is editor.Checksum of the client's text of the
	// section after Updates. The server rebuilds the text at Base, applies
	// Updates to it and compares: a push whose check differs (the client's
	// copy is not the server's, so its positions mean something else) is
	// refused with wire.CodeDiverged.
	Check   *uint32
	Updates []editor.ChangeSet
	Time    time.Time
}

// AddSection appends a custom section.
type AddSection struct {
	Author Author
	Title  string
	Text   string
	Time   time.Time
}

// SetWorkflow moves the document to a stage, or changes its comment
// window and flags (editor.Workflow.CheckTransition says what is allowed).
type SetWorkflow struct {
	Author   Author
	Workflow editor.Workflow
	Time     time.Time
}

// Restructure renames the document, or renames, moves or removes a
// custom section: Structure is an editor.OpRenameDocument,
// OpRenameSection, OpMoveSection or OpRemoveSection step.
type Restructure struct {
	Author    Author
	Structure editor.Structure
	Time      time.Time
}

func (Restructure) command() {}
func (Push) command()        {}
func (AddSection) command()  {}
func (SetWorkflow) command() {}

// Refusal is a command refused: nothing of it was accepted. Code is one of
// the wire error codes, or CodeInvalid.
type Refusal struct {
	Code    string
	Message string
	// Current and Merged, for a CodeConflict: the text there now, and
	// what merging the hunks that fit would give.
	Current, Merged string
	// Err is the rule's own error, when the model has one (an
	// *editor.LimitError, editor.ErrInvalid).
	Err error
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// Unwrap returns the rule's own error.
func (r *Refusal) Unwrap() error { return r.Err }

// CodeInvalid refuses a command whose own content breaks a rule of the
// document model (an empty title); it never reaches a websocket client.
const CodeInvalid = "invalid"

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotStored is the error of every outcome whose updates were handed to
// the store and not stored (Settle(false)).
var ErrNotStored = errors.New("the store did not take the updates")

// Ticket names an accepted command until it is settled; NoTicket means
// there was nothing to do (every update of a push was already accepted).
type Ticket uint64

// NoTicket is returned by Do for a command that needs no update.
const NoTicket Ticket = 0

// Accepted is one update of the log, in its three forms: as stored, as
// clients receive it, and its text change (zero for a structural update).
type Accepted struct {
	Log     store.Update
	Out     wire.Update
	Changes editor.ChangeSet
}

// Outcome is the end of an accepted command.
type Outcome struct {
	Ticket Ticket
	// Err is nil when the command's updates are durable; a *Refusal when
	// it could not be replayed after Absorb; ErrNotStored after
	// Settle(false).
	Err error
	// First and Last are the seqs of its updates (both 0 when every
	// update was already accepted by then).
	First, Last int64
	// Added is the section an AddSection added.
	Added *editor.Section
	// Comment is the comment an AddComment or a ChangeComment made or
	// changed, as it now is.
	Comment *comments.Comment
	// Published is, for a SetWorkflow that published the document (to
	// public comment or final), the document as published: at the seq of
	// that step. The caller keeps it as a named version.
	Published *editor.Document
}

// Settled is what became durable, in seq order, and the commands that
// ended.
type Settled struct {
	Updates  []Accepted
	Outcomes []Outcome
}

// entry is an accepted command and the updates it produced on the working
// document; they are produced again if the batch must be rebased.
type entry struct {
	ticket    Ticket
	cmd       Command
	acc       []Accepted
	added     *editor.Section
	published *editor.Document
	comment   *comments.Comment
	// checked: a push's Check was verified when it was first accepted.
	// Its Base is a durable version (clients only ever see durable
	// updates), which absorbing another writer's updates does not change,
	// so a redo need not rebuild that text again.
	checked bool
	// rebased is a push's updates rebased over the section's durable
	// updates up to version rebasedAt: a redo (after absorbing another
	// writer's updates, which come after them) goes on from there instead
	// of rebasing over the same durable updates again, whose number grows
	// with how far behind the client was.
	rebased   []editor.Update
	rebasedAt int
}

// history is what a section keeps for rebasing and checking pushes:
// recent[i] took it from version base+i to base+i+1, and inv[i] undoes it
// (inv[i] is unknown, its ok false, for updates read from a log that did
// not keep inverses). It covers the durable updates and then those of the
// batch.
type history struct {
	base   int
	recent []editor.Update
	inv    []inverse
}

type inverse struct {
	cs editor.ChangeSet
	ok bool
}

// Authority is one document's decision maker; see the package comment.
type Authority struct {
	cfg Config
	// durable is what the store has; next is durable plus the batch
	// handed out by Take (while it is stored); work is durable plus every
	// accepted entry.
	durable, next, work *editor.Document
	// dc, nc and wc are the comments that go with durable, next and work.
	dc, nc, wc *commentState
	entries    []entry
	inflight   int // entries[:inflight] were handed out by Take
	sections   map[string]*history
	units      int // UTF-16 length of work's sections together
	paras      int // paragraphs of work's sections together
	tickets    Ticket
}

// New returns the authority of a document from its latest snapshot and
// the log the store keeps: updates up to snap.Seq only fill the
// histories (so pushes at versions before the snapshot can still be
// rebased after a restart), later ones are replayed. The log must be in
// seq order without gaps and reach past snap.Seq without one.
func New(cfg Config, snap *editor.Document, log []store.Update) (*Authority, error) {
	a := &Authority{cfg: cfg, sections: map[string]*history{}}
	doc := snap.Clone()
	cs, err := loadCommentState(doc)
	if err != nil {
		return nil, err
	}
	doc.Annotations = nil // kept in cs; the documents in memory go without
	for i, u := range log {
		if i > 0 && u.Seq != log[i-1].Seq+1 {
			return nil, fmt.Errorf("document %s: the log jumps from %d to %d", doc.ID, log[i-1].Seq, u.Seq)
		}
		if u.Seq > doc.Seq {
			if u.Seq != doc.Seq+1 {
				return nil, fmt.Errorf("document %s: the log resumes at %d after the snapshot at %d", doc.ID, u.Seq, doc.Seq)
			}
			break
		}
		if u.Kind != store.KindText {
			continue
		}
		cs, err := editor.ChangeSetFromJSON(u.Changes)
		if err != nil {
			return nil, fmt.Errorf("document %s: update %d: %w", doc.ID, u.Seq, err)
		}
		var inv inverse
		if len(u.Inverse) > 0 {
			if inv.cs, err = editor.ChangeSetFromJSON(u.Inverse); err != nil {
				return nil, fmt.Errorf("document %s: update %d: inverse: %w", doc.ID, u.Seq, err)
			}
			inv.ok = true
		}
		h := a.sections[u.Section]
		if h == nil || h.base+len(h.recent)+1 != u.Version {
			h = &history{base: u.Version - 1}
			a.sections[u.Section] = h
		}
		h.push(editor.Update{Changes: cs, ClientID: u.ClientID}, inv)
	}
	// A history that does not end at the snapshot's version of its section
	// is of no use.
	for _, s := range doc.Sections {
		if h := a.sections[s.ID]; h == nil || h.base+len(h.recent) != s.Version {
			a.sections[s.ID] = &history{base: s.Version}
		}
	}
	for id := range a.sections {
		if doc.Section(id) == nil {
			delete(a.sections, id)
		}
	}
	last := lastOfSections(log)
	for _, u := range log {
		if u.Seq <= doc.Seq {
			continue
		}
		if _, err := a.replay(doc, cs, u, last); err != nil {
			return nil, err
		}
	}
	a.durable = doc
	a.work = doc.Clone()
	a.dc, a.wc = cs, cs.clone()
	a.units, a.paras = sizeOf(doc)
	a.trim()
	return a, nil
}

// lastOfSections returns the seq of each section's last text update.
func lastOfSections(ups []store.Update) map[string]int64 {
	last := map[string]int64{}
	for _, u := range ups {
		if u.Kind == store.KindText {
			last[u.Section] = u.Seq
		}
	}
	return last
}

func (h *history) push(u editor.Update, inv inverse) {
	h.recent = append(h.recent, u)
	h.inv = append(h.inv, inv)
}

// truncate forgets the updates after version v.
func (h *history) truncate(v int) {
	h.recent = h.recent[:v-h.base]
	h.inv = h.inv[:v-h.base]
}

// textAt rebuilds the text at version v from text, the text at the end of
// the history, undoing the updates after v; false when an inverse on the
// way is not known. The inverses are composed first (a composition costs
// what the changes hold, not the text's length) and applied in one pass,
// where undoing them one by one moved the rest of a long text once per
// update: the cost of checking a push grew with the text times how far
// behind its client was.
func (h *history) textAt(text string, v int) (*editor.Text, bool) {
	k := v - h.base
	for i := k; i < len(h.inv); i++ {
		if !h.inv[i].ok {
			return nil, false
		}
	}
	t := editor.NewText(text)
	if k >= len(h.inv) {
		return t, true
	}
	// Newest first, composed pairwise: each round halves the list, so a
	// long way back costs n log n, not n² as composing one by one would.
	undo := make([]editor.ChangeSet, 0, len(h.inv)-k)
	for i := len(h.inv) - 1; i >= k; i-- {
		undo = append(undo, h.inv[i].cs)
	}
	for len(undo) > 1 {
		next := undo[:0]
		for i := 0; i < len(undo); i += 2 {
			if i+1 < len(undo) {
				next = append(next, undo[i].Compose(undo[i+1]))
			} else {
				next = append(next, undo[i])
			}
		}
		undo = next
	}
	if t.Apply(undo[0]) != nil {
		return nil, false // cannot happen: each undoes what followed it
	}
	return t, true
}

// sizeOf returns the UTF-16 length and the paragraphs of a document's
// sections together.
func sizeOf(d *editor.Document) (units, paras int) {
	for _, s := range d.Sections {
		units += editor.UTF16Len(s.Text)
		paras += len(s.Paras)
	}
	return units, paras
}

// Replay applies one logged update to doc exactly as it was applied when
// it was accepted (editor.Document.Apply), checking the checksum the log
// kept, and returns it in its three forms.
func Replay(doc *editor.Document, u store.Update) (Accepted, error) {
	acc, _, err := replay(doc, u, true)
	return acc, err
}

// replay is Replay that also returns the inverse of a text update (the
// one the log kept, or one computed), and checks the text against the
// logged checksum only when checkText is set: a replay of many updates
// checks each section's last, which the earlier ones led to.
func replay(doc *editor.Document, u store.Update, checkText bool) (Accepted, editor.ChangeSet, error) {
	var inv editor.ChangeSet
	if u.Seq != doc.Seq+1 {
		return Accepted{}, inv, fmt.Errorf("document %s: update %d follows %d: the log has a gap", doc.ID, u.Seq, doc.Seq)
	}
	step := editor.Step{Section: u.Section, Time: u.Time}
	var before string
	switch u.Kind {
	case store.KindText:
		cs, err := editor.ChangeSetFromJSON(u.Changes)
		if err != nil {
			return Accepted{}, inv, fmt.Errorf("document %s: update %d: %w", doc.ID, u.Seq, err)
		}
		step.Changes = cs
		if s := doc.Section(u.Section); s != nil {
			before = s.Text
		}
	case store.KindStructure:
		var sc editor.Structure
		if err := json.Unmarshal(u.Payload, &sc); err != nil {
			return Accepted{}, inv, fmt.Errorf("document %s: update %d: %w", doc.ID, u.Seq, err)
		}
		step.Structure = &sc
	default:
		return Accepted{}, inv, fmt.Errorf("document %s: update %d of unknown kind %q", doc.ID, u.Seq, u.Kind)
	}
	eff, err := doc.Apply(step)
	if err != nil {
		return Accepted{}, inv, fmt.Errorf("document %s: replay update %d: %w", doc.ID, u.Seq, err)
	}
	out := wire.Update{Seq: u.Seq, Section: u.Section, Version: u.Version, Client: u.ClientID, Changes: u.Changes}
	if step.Structure != nil {
		out.Structure = u.Payload
		if step.Structure.Op == editor.OpComment {
			out.Structure = wireStructure(u.Payload)
		}
	} else {
		if checkText && u.Check != nil && *u.Check != editor.Checksum(doc.Section(u.Section).Text) {
			return Accepted{}, inv, fmt.Errorf("document %s: replaying update %d does not give the text it gave when accepted", doc.ID, u.Seq)
		}
		if u.Paras != nil && (!eff.Paras.Changed || !slices.Equal(u.Paras, eff.Paras.Paras)) {
			return Accepted{}, inv, fmt.Errorf("document %s: replaying update %d does not give the paragraph ids it gave when accepted", doc.ID, u.Seq)
		}
		if eff.Paras.Changed {
			out.Paras, out.Merged = eff.Paras.Paras, eff.Paras.Merged
		}
		if len(u.Inverse) > 0 {
			inv, err = editor.ChangeSetFromJSON(u.Inverse)
		}
		if len(u.Inverse) == 0 || err != nil || inv.LenBefore() != step.Changes.LenAfter() || inv.LenAfter() != step.Changes.LenBefore() {
			inv, _ = step.Changes.Invert(before) // it applied to before, so it inverts
		}
	}
	return Accepted{Log: u, Out: out, Changes: step.Changes}, inv, nil
}

// replay is Replay that also keeps the section's history; last gives
// the seq of each section's last update in the run replayed, the one whose
// text is checked.
func (a *Authority) replay(doc *editor.Document, cs *commentState, u store.Update, last map[string]int64) (Accepted, error) {
	var before editor.Section
	if s := doc.Section(u.Section); u.Kind == store.KindText && s != nil {
		before = *s // its Paras shared: a change makes a new list
	}
	acc, inv, err := replay(doc, u, last[u.Section] == u.Seq)
	if err != nil {
		return Accepted{}, err
	}
	if u.Kind == store.KindStructure {
		var sc editor.Structure
		if err := json.Unmarshal(u.Payload, &sc); err != nil {
			return Accepted{}, fmt.Errorf("document %s: update %d: %w", doc.ID, u.Seq, err)
		}
		if err := cs.structure(doc, &sc); err != nil {
			return Accepted{}, fmt.Errorf("document %s: update %d: %w", doc.ID, u.Seq, err)
		}
		for _, s := range doc.Sections {
			if a.sections[s.ID] == nil {
				a.sections[s.ID] = &history{base: s.Version}
			}
		}
		return acc, nil
	}
	if err := cs.anchors.MapText(doc, comments.TextStep{Section: u.Section, Before: before, Changes: acc.Changes, Merged: u.Merged}); err != nil {
		return Accepted{}, fmt.Errorf("document %s: update %d: comments: %w", doc.ID, u.Seq, err)
	}
	s := doc.Section(u.Section)
	h := a.sections[u.Section]
	if h == nil || h.base+len(h.recent)+1 != s.Version {
		h = &history{base: s.Version - 1}
		a.sections[u.Section] = h
	}
	h.push(editor.Update{Changes: acc.Changes, ClientID: u.ClientID}, inverse{cs: inv, ok: true})
	return acc, nil
}

// Durable returns the durable document (shared: do not modify it).
func (a *Authority) Durable() *editor.Document { return a.durable }

// Pending returns the number of updates accepted and not yet durable.
func (a *Authority) Pending() int {
	n := 0
	for _, e := range a.entries {
		n += len(e.acc)
	}
	return n
}

// InFlight reports whether a batch handed out by Take awaits Settle.
func (a *Authority) InFlight() bool { return a.inflight > 0 }

// Do accepts a command into the batch, or refuses it (a *Refusal) and
// changes nothing. A push whose updates were all accepted before returns
// NoTicket: its client has them, or will with the next durable batch.
func (a *Authority) Do(cmd Command) (Ticket, error) {
	e := entry{cmd: cmd}
	if err := a.exec(&e); err != nil {
		return NoTicket, err
	}
	if len(e.acc) == 0 {
		return NoTicket, nil
	}
	a.tickets++
	e.ticket = a.tickets
	a.entries = append(a.entries, e)
	return e.ticket, nil
}

// exec applies e.cmd to the working document and fills e.acc and e.added;
// on a refusal the working document is as before.
func (a *Authority) exec(e *entry) error {
	switch c := e.cmd.(type) {
	case Push:
		if err := a.allowed(c.Author, access.EditText, c.Time); err != nil {
			return err
		}
		return a.push(e, c)
	case AddSection:
		if err := a.allowed(c.Author, access.EditStructure, c.Time); err != nil {
			return err
		}
		return a.addSection(e, c)
	case Restructure:
		if err := a.allowed(c.Author, access.EditStructure, c.Time); err != nil {
			return err
		}
		return a.restructure(e, c)
	case SetWorkflow:
		if err := a.allowed(c.Author, access.ChangeStage, c.Time); err != nil {
			return err
		}
		return a.setWorkflow(e, c)
	case AddComment:
		return a.addComment(e, c)
	case ChangeComment:
		return a.changeComment(e, c)
	case AcceptSuggestion:
		return a.acceptSuggestion(e, c)
	default:
		return refuse(CodeInvalid, "unknown command %T", e.cmd)
	}
}

// Context returns where the working document stands for the permission
// matrix, at now.
func (a *Authority) Context(now time.Time) access.Context {
	return ContextOf(a.work, now)
}

// ContextOf returns where a document stands for the permission matrix,
// at now.
func ContextOf(d *editor.Document, now time.Time) access.Context {
	w := d.Workflow
	return access.Context{Stage: w.StageOf(), Frozen: w.Frozen, PublicDraft: w.PublicDraft, WindowOpen: w.WindowOpen(now), Published: w.Published > 0}
}

// allowed is every command's first precondition: the permission matrix.
func (a *Authority) allowed(who Author, action access.Action, now time.Time) error {
	if err := access.Check(who.Role, action, a.Context(now)); err != nil {
		return &Refusal{Code: wire.CodeForbidden, Message: err.Error(), Err: err}
	}
	return nil
}

func (a *Authority) setWorkflow(e *entry, c SetWorkflow) error {
	if c.Author.Client == "" {
		return refuse(CodeInvalid, "a change of workflow needs an author")
	}
	w := c.Workflow
	step := editor.Step{Structure: &editor.Structure{Op: editor.OpWorkflow, Workflow: &w}, Time: c.Time}
	if err := a.applyStructure(step); err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	next := a.work.Workflow
	if next.Published == a.work.Seq {
		e.published = a.work.Clone()
	}
	next.Republish = w.Republish // so that a replay publishes the correction too
	payload := mustJSON(editor.Structure{Op: editor.OpWorkflow, Workflow: &next})
	e.acc = []Accepted{{
		Log: store.Update{Seq: a.work.Seq, Kind: store.KindStructure, ClientID: c.Author.Client, Author: c.Author.Name, Payload: payload, Time: c.Time},
		Out: wire.Update{Seq: a.work.Seq, Client: c.Author.Client, Structure: payload},
	}}
	return nil
}

func (a *Authority) push(e *entry, p Push) error {
	if p.Author.Client == "" {
		return refuse(CodeInvalid, "a push needs an author")
	}
	sec := a.work.Section(p.Section)
	h := a.sections[p.Section]
	if sec == nil || h == nil {
		return refuse(wire.CodeUnknownSection, "no section %q in this document", p.Section)
	}
	if len(p.Updates) == 0 {
		return refuse(wire.CodeBadMessage, "a push needs at least one update")
	}
	if p.Base > sec.Version || p.Base < 0 {
		return refuse(wire.CodeFutureVersion, "section %q is at version %d; the push is based on %d", p.Section, sec.Version, p.Base)
	}
	if p.Base < h.base {
		return refuse(wire.CodeTooOld, "version %d of section %q is older than version %d, the oldest kept for rebasing; catch up and push again", p.Base, p.Section, h.base)
	}
	over := h.recent[p.Base-h.base:]
	// The updates follow each other from the text at Base: check the
	// lengths before rebasing, which assumes them.
	length := editor.UTF16Len(sec.Text)
	if len(over) > 0 {
		length = over[0].Changes.LenBefore()
	}
	for i, cs := range p.Updates {
		if cs.LenBefore() != length {
			return refuse(wire.CodeBadChanges, "update %d applies to a text of %d units; the section's text there has %d", i, cs.LenBefore(), length)
		}
		length = cs.LenAfter()
	}
	if p.Check != nil && len(over) > 0 && !e.checked {
		// The client's text is the server's at Base with its updates
		// applied; when nothing came in between, the result of applying
		// them below says it.
		t, ok := h.textAt(sec.Text, p.Base)
		if !ok {
			return refuse(wire.CodeTooOld, "version %d of section %q can no longer be rebuilt to check the push; catch up and push again", p.Base, p.Section)
		}
		for _, cs := range p.Updates {
			if err := t.Apply(cs); err != nil {
				if !errors.Is(err, editor.ErrSplitSurrogate) {
					return refuse(wire.CodeBadChanges, "the updates do not apply to the section's text at version %d: %v", p.Base, err)
				}
				return refuse(wire.CodeDiverged, "the client's updates do not fit the server's text of section %q: the client's copy differs", p.Section)
			}
		}
		if t.Checksum() != *p.Check {
			return refuse(wire.CodeDiverged, "the client's text of section %q is not what the server's gives with its updates", p.Section)
		}
	}
	ups := make([]editor.Update, len(p.Updates))
	for i, cs := range p.Updates {
		ups[i] = editor.Update{Changes: cs, ClientID: p.Author.Client}
	}
	// RebaseStepwise folds over its updates one by one: rebasing over
	// the durable part, then over the rest, is rebasing over them all.
	from := p.Base
	if e.rebased != nil && e.rebasedAt > from && e.rebasedAt >= h.base {
		ups, from = e.rebased, e.rebasedAt
	}
	if d := a.durable.Section(p.Section); d != nil && d.Version > from && d.Version <= sec.Version {
		ups = editor.RebaseStepwise(ups, h.recent[from-h.base:d.Version-h.base])
		from = d.Version
		e.rebased, e.rebasedAt = ups, from
	}
	ups = editor.RebaseStepwise(ups, h.recent[from-h.base:])
	if len(ups) == 0 {
		return nil
	}
	grow := 0
	for i, u := range ups {
		grow += u.Changes.LenAfter() - u.Changes.LenBefore()
		if u.Changes.LenAfter() > a.cfg.MaxSectionUnits || a.units+grow > a.cfg.MaxDocumentUnits {
			return refuse(wire.CodeTooLarge, "update %d: a section may hold %d characters and a document %d", i, a.cfg.MaxSectionUnits, a.cfg.MaxDocumentUnits)
		}
	}
	// All or nothing: what the first updates did is undone if a later one
	// does not apply, or if the check says the client's text differs.
	saved, seq, nextPara, updated := *sec, a.work.Seq, a.work.NextPara, a.work.Updated
	kept := len(h.recent)
	undo := func() {
		*a.work.Section(p.Section) = saved
		a.work.Seq, a.work.NextPara, a.work.Updated = seq, nextPara, updated
		h.truncate(h.base + kept)
		e.acc = nil
	}
	var steps []comments.TextStep // for the anchors, once the push is accepted
	for i, u := range ups {
		before := a.work.Section(p.Section).Text
		if a.wc.anchors.Len() > 0 {
			// The section as it was; its Paras may be shared: applying a
			// change makes a new list, never changes the old one.
			steps = append(steps, comments.TextStep{Section: p.Section, Before: *a.work.Section(p.Section), Changes: u.Changes})
		}
		eff, err := a.work.Apply(editor.Step{Section: p.Section, Changes: u.Changes, Time: p.Time})
		if err != nil {
			undo()
			if p.Check != nil && len(over) == 0 && errors.Is(err, editor.ErrSplitSurrogate) {
				// The client cut no character in its own text: its text
				// is not the server's.
				return refuse(wire.CodeDiverged, "update %d does not fit the server's text of section %q: the client's copy differs", i, p.Section)
			}
			return refuse(wire.CodeBadChanges, "update %d: %v", i, err)
		}
		s := a.work.Section(p.Section)
		inv, _ := u.Changes.Invert(before) // it applied to before, so it inverts
		h.push(u, inverse{cs: inv, ok: true})
		check := editor.Checksum(s.Text)
		acc := Accepted{
			Log: store.Update{Seq: a.work.Seq, Section: p.Section, Version: s.Version, ClientID: p.Author.Client,
				Author: p.Author.Name, Changes: mustJSON(u.Changes), Time: p.Time, Check: &check, Inverse: mustJSON(inv)},
			Changes: u.Changes,
		}
		acc.Out = wire.Update{Seq: acc.Log.Seq, Section: p.Section, Version: s.Version, Client: p.Author.Client, Changes: acc.Log.Changes}
		if eff.Paras.Changed {
			acc.Out.Paras, acc.Out.Merged = eff.Paras.Paras, eff.Paras.Merged
			acc.Log.Paras, acc.Log.Merged = eff.Paras.Paras, eff.Paras.Merged
		}
		if len(steps) > 0 {
			steps[len(steps)-1].Merged = eff.Paras.Merged
		}
		e.acc = append(e.acc, acc)
	}
	if p.Check != nil && len(over) == 0 && !e.checked && *e.acc[len(e.acc)-1].Log.Check != *p.Check {
		undo()
		return refuse(wire.CodeDiverged, "the client's text of section %q is not what the server's gives with its updates", p.Section)
	}
	added := len(a.work.Section(p.Section).Paras) - len(saved.Paras)
	if n := a.paras + added; added > 0 && n > a.cfg.MaxParagraphs {
		undo()
		err := &editor.LimitError{Limit: "paragraphs", Got: n, Max: a.cfg.MaxParagraphs, What: "the document", TooLarge: true}
		return &Refusal{Code: wire.CodeTooLarge, Message: err.Error(), Err: err}
	}
	a.units += grow
	a.paras += added
	a.mapAnchors(steps)
	e.checked = p.Check != nil
	return nil
}

// mapAnchors maps the comments' anchors over the text steps of an
// accepted push, one after the other: each against the document as that
// step left it (the next step's Before, or the working document).
func (a *Authority) mapAnchors(steps []comments.TextStep) {
	if len(steps) == 0 {
		return
	}
	last := a.work.Seq
	first := last - int64(len(steps)) + 1
	for i, st := range steps {
		d := a.work
		if i < len(steps)-1 {
			view := *a.work
			view.Sections = slices.Clone(a.work.Sections)
			for j := range view.Sections {
				if view.Sections[j].ID == st.Section {
					view.Sections[j] = steps[i+1].Before
				}
			}
			view.Seq = first + int64(i)
			d = &view
		}
		if err := a.wc.anchors.MapText(d, st); err != nil {
			panic(fmt.Sprintf("authority: map anchors over an accepted update: %v", err)) // the section exists: it was just changed
		}
	}
}

// applyStructure applies a structural step to the working document and
// maps the comments' anchors over it.
func (a *Authority) applyStructure(step editor.Step) error {
	if _, err := a.work.Apply(step); err != nil {
		return err
	}
	a.wc.anchors.MapStructure(a.work, step.Structure)
	return nil
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("authority: encode %T: %v", v, err)) // change sets and sections always encode
	}
	return raw
}

func (a *Authority) addSection(e *entry, c AddSection) error {
	if c.Author.Client == "" {
		return refuse(CodeInvalid, "a structural change needs an author")
	}
	title, text, err := a.work.CheckNewSection(c.Title, c.Text)
	if err != nil {
		code := CodeInvalid
		if le, ok := err.(*editor.LimitError); ok && le.TooLarge {
			code = wire.CodeTooLarge
		}
		return &Refusal{Code: code, Message: err.Error(), Err: err}
	}
	n := editor.UTF16Len(text)
	if n > a.cfg.MaxSectionUnits || a.units+n > a.cfg.MaxDocumentUnits {
		return refuse(wire.CodeTooLarge, "a section may hold %d characters and a document %d", a.cfg.MaxSectionUnits, a.cfg.MaxDocumentUnits)
	}
	paras := len(editor.Paragraphs(text))
	if m := a.paras + paras; paras > 0 && m > a.cfg.MaxParagraphs {
		err := &editor.LimitError{Limit: "paragraphs", Got: m, Max: a.cfg.MaxParagraphs, What: "the document", TooLarge: true}
		return &Refusal{Code: wire.CodeTooLarge, Message: err.Error(), Err: err}
	}
	step := editor.Step{Structure: &editor.Structure{Op: editor.OpAddSection, Section: &editor.Section{Title: title, Text: text}}, Time: c.Time}
	eff, err := a.work.Apply(step)
	if err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	a.wc.anchors.MapStructure(a.work, step.Structure)
	payload := mustJSON(editor.Structure{Op: editor.OpAddSection, Section: eff.Added})
	a.sections[eff.Added.ID] = &history{base: 0}
	a.units += n
	a.paras += paras
	e.added = eff.Added
	e.acc = []Accepted{{
		Log: store.Update{Seq: a.work.Seq, Kind: store.KindStructure, ClientID: c.Author.Client, Author: c.Author.Name, Payload: payload, Time: c.Time},
		Out: wire.Update{Seq: a.work.Seq, Client: c.Author.Client, Structure: payload},
	}}
	return nil
}

func (a *Authority) restructure(e *entry, c Restructure) error {
	if c.Author.Client == "" {
		return refuse(CodeInvalid, "a structural change needs an author")
	}
	switch c.Structure.Op {
	case editor.OpRenameDocument, editor.OpRenameSection, editor.OpMoveSection, editor.OpRemoveSection:
	default:
		return refuse(CodeInvalid, "unknown structural change %q", c.Structure.Op)
	}
	sc := c.Structure
	if sc.Section != nil {
		sc.Section = &editor.Section{ID: sc.Section.ID} // only its id is asked for
	}
	eff, err := a.work.Apply(editor.Step{Structure: &sc, Time: c.Time})
	if err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	a.wc.anchors.MapStructure(a.work, &sc)
	if eff.Removed != nil {
		// The log keeps what was removed, so the history has its text.
		sc.Section = eff.Removed
		delete(a.sections, eff.Removed.ID)
		a.units, a.paras = sizeOf(a.work)
	}
	payload := mustJSON(sc)
	e.acc = []Accepted{{
		Log: store.Update{Seq: a.work.Seq, Kind: store.KindStructure, ClientID: c.Author.Client, Author: c.Author.Name, Payload: payload, Time: c.Time},
		Out: wire.Update{Seq: a.work.Seq, Client: c.Author.Client, Structure: payload},
	}}
	return nil
}

// Take hands out the batch to append to the store: the updates of every
// accepted command not yet handed out, to be appended after expect, the
// durable seq. It returns nothing while a batch is out (until Settle or
// Absorb) or when there is nothing to store. Commands accepted meanwhile
// form the next batch.
func (a *Authority) Take() (expect int64, ups []store.Update) {
	if a.inflight > 0 || len(a.entries) == 0 {
		return 0, nil
	}
	a.inflight = len(a.entries)
	a.next = a.work.Clone()
	a.nc = a.wc.clone()
	for _, e := range a.entries {
		for _, acc := range e.acc {
			ups = append(ups, acc.Log)
		}
	}
	return a.durable.Seq, ups
}

// Settle ends the batch handed out by Take. With ok (it is durable) its
// updates join the durable document and are returned for fan-out, and its
// commands end well. Without (the store failed, not a version conflict:
// for that, see Absorb) nothing of it or of what was accepted after it is
// kept: every waiting command ends with ErrNotStored and the working
// document is the durable one again.
func (a *Authority) Settle(ok bool) Settled {
	if a.inflight == 0 {
		return Settled{}
	}
	var out Settled
	if !ok {
		for _, e := range a.entries {
			out.Outcomes = append(out.Outcomes, Outcome{Ticket: e.ticket, Err: ErrNotStored})
		}
		a.entries, a.inflight, a.next, a.nc = nil, 0, nil, nil
		a.reset()
		return out
	}
	for _, e := range a.entries[:a.inflight] {
		out.Updates = append(out.Updates, e.acc...)
		out.Outcomes = append(out.Outcomes, e.outcome())
	}
	a.entries = append([]entry(nil), a.entries[a.inflight:]...)
	a.durable, a.next, a.inflight = a.next, nil, 0
	a.dc, a.nc = a.nc, nil
	a.trim()
	return out
}

// Untake gives back the batch handed out by Take without storing it: the
// store refused it with nothing new to take in (store.ErrBusy: another
// writer's turn). The next Take hands it out again, with what was
// accepted since.
func (a *Authority) Untake() {
	a.inflight, a.next, a.nc = 0, nil, nil
}

func (e *entry) outcome() Outcome {
	o := Outcome{Ticket: e.ticket, Added: e.added, Published: e.published, Comment: e.comment}
	if len(e.acc) > 0 {
		o.First, o.Last = e.acc[0].Log.Seq, e.acc[len(e.acc)-1].Log.Seq
	}
	return o
}

// reset makes the working document the durable one again, forgetting
// the updates of the batch in the histories.
func (a *Authority) reset() {
	a.work = a.durable.Clone()
	a.wc = a.dc.clone()
	a.units, a.paras = sizeOf(a.work)
	for id, h := range a.sections {
		s := a.durable.Section(id)
		if s == nil {
			delete(a.sections, id)
			continue
		}
		h.truncate(s.Version)
	}
}

// trim drops durable updates beyond RecentPerSection from the histories,
// once a quarter more has gathered: each drop copies what is kept, which
// done at every batch cost as much as the rest of committing it.
func (a *Authority) trim() {
	for id, h := range a.sections {
		s := a.durable.Section(id)
		if s == nil {
			continue
		}
		if over := s.Version - h.base - a.cfg.RecentPerSection; over > a.cfg.RecentPerSection/4 {
			h.recent = append([]editor.Update(nil), h.recent[over:]...)
			h.inv = append([]inverse(nil), h.inv[over:]...)
			h.base += over
		}
	}
}

// Absorb takes in updates another writer appended to the log after the
// durable seq (read after an append failed with a version conflict, or
// when a notifier said the log moved): they are replayed onto the durable
// document and returned for fan-out, and every accepted command not yet
// durable is done again on top of them (its pushes rebased over them, its
// seqs renumbered); one that can no longer be done ends with its refusal.
// A batch handed out by Take is taken back: Absorb must only be called
// once its append is known to have failed.
//
// An error means the foreign updates cannot be applied: every waiting
// command ends with ErrNotStored, and the authority must not be used
// again (the document is to be loaded afresh from the store).
func (a *Authority) Absorb(foreign []store.Update) (Settled, error) {
	a.inflight, a.next, a.nc = 0, nil, nil
	a.reset()
	doc := a.durable.Clone()
	cs := a.dc.clone()
	var out Settled
	last := lastOfSections(foreign)
	for _, u := range foreign {
		acc, err := a.replay(doc, cs, u, last)
		if err != nil {
			for _, e := range a.entries {
				out.Outcomes = append(out.Outcomes, Outcome{Ticket: e.ticket, Err: ErrNotStored})
			}
			a.entries = nil
			return Settled{Outcomes: out.Outcomes}, err
		}
		out.Updates = append(out.Updates, acc)
	}
	a.durable = doc
	a.work = doc.Clone()
	a.dc, a.wc = cs, cs.clone()
	a.units, a.paras = sizeOf(doc)
	a.redo(&out)
	a.trim()
	return out, nil
}

// redo does every entry again on the working document, in order; those
// that fail or have nothing left to do end in out.
func (a *Authority) redo(out *Settled) {
	kept := a.entries[:0]
	for _, e := range a.entries {
		e.acc, e.added, e.published, e.comment = nil, nil, nil, nil
		err := a.exec(&e)
		switch {
		case err != nil:
			out.Outcomes = append(out.Outcomes, Outcome{Ticket: e.ticket, Err: err})
		case len(e.acc) == 0:
			out.Outcomes = append(out.Outcomes, Outcome{Ticket: e.ticket})
		default:
			kept = append(kept, e)
		}
	}
	a.entries = kept
}

// Since returns the durable updates of a section after version v and the
// length of its text at v, to bring positions given at v (a selection) to
// the durable version; false when v is not within what is kept.
func (a *Authority) Since(section string, v int) ([]editor.Update, int, bool) {
	s, h := a.durable.Section(section), a.sections[section]
	if s == nil || h == nil || v < h.base || v > s.Version {
		return nil, 0, false
	}
	over := h.recent[v-h.base : s.Version-h.base]
	if len(over) > 0 {
		return over, over[0].Changes.LenBefore(), true
	}
	return nil, editor.UTF16Len(s.Text), true
}
