package authority

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Comments are commands like the edits: each accepted comment, reply,
// edit, withdrawal, report or moderation is a comment step of the log
// (editor.OpComment), ordered with the edits, and the anchors of the
// comments are mapped over every step the document takes, so that a
// replay of the log gives the same comments at the same places. The
// comments as of a snapshot are kept in its Annotations.

// Report is a report of a comment under the Code of Conduct.
type Report struct {
	Account string    `json:"account"`
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
}

// commentState is a document's comments and their anchors, as of the
// document it goes with. Its comments are never changed once stored (a
// change stores a new one). A clone shares everything until one of the
// two changes it (copy on write: the anchors per section, the maps as a
// whole), so keeping one per batch costs what the batch changes.
type commentState struct {
	comments map[string]*comments.Comment
	order    []string // ids, in the order the comments were made
	reports  map[string][]Report
	own      bool // comments, order and reports are this state's to change
	anchors  *comments.Anchors
}

func newCommentState(seq int64) *commentState {
	return &commentState{comments: map[string]*comments.Comment{}, reports: map[string][]Report{}, own: true, anchors: comments.NewAnchors(seq)}
}

// clone returns a state equal to c, sharing with it until either changes.
func (c *commentState) clone() *commentState {
	c.own = false
	return &commentState{comments: c.comments, order: c.order, reports: c.reports, anchors: c.anchors.Clone()}
}

// write makes the maps and the order the state's own to change.
func (c *commentState) write() {
	if c.own {
		return
	}
	c.comments, c.reports = maps.Clone(c.comments), maps.Clone(c.reports)
	c.order = slices.Clip(slices.Clone(c.order))
	c.own = true
}

// annotations is the stored form of a commentState (editor.Document's
// Annotations).
type annotations struct {
	Comments []*comments.Comment `json:"comments"`
	Reports  map[string][]Report `json:"reports,omitempty"`
	Anchors  *comments.Anchors   `json:"anchors"`
}

func (c *commentState) marshal() json.RawMessage {
	if len(c.order) == 0 {
		return nil
	}
	v := annotations{Reports: c.reports, Anchors: c.anchors}
	for _, id := range c.order {
		v.Comments = append(v.Comments, c.comments[id])
	}
	return mustJSON(v)
}

// loadCommentState reads the comments of a snapshot (none when it has
// no annotations).
func loadCommentState(doc *editor.Document) (*commentState, error) {
	c := newCommentState(doc.Seq)
	if len(doc.Annotations) == 0 {
		return c, nil
	}
	var v annotations
	v.Anchors = comments.NewAnchors(doc.Seq)
	if err := json.Unmarshal(doc.Annotations, &v); err != nil {
		return nil, fmt.Errorf("document %s: the comments of its snapshot: %w", doc.ID, err)
	}
	if v.Anchors.Seq() != doc.Seq {
		return nil, fmt.Errorf("document %s: the comments of its snapshot are as of seq %d, the snapshot of %d", doc.ID, v.Anchors.Seq(), doc.Seq)
	}
	c.anchors = v.Anchors
	for _, x := range v.Comments {
		c.comments[x.ID] = x
		c.order = append(c.order, x.ID)
	}
	if v.Reports != nil {
		c.reports = v.Reports
	}
	return c, nil
}

// commentEvent is the payload of a comment step.
type commentEvent struct {
	// Kind is one of the CommentOp values, or "add".
	Kind string `json:"kind"`
	// Comment is the comment as added (add), its anchor as of the step.
	Comment *comments.Comment `json:"comment,omitempty"`
	ID      string            `json:"id,omitempty"`
	Account string            `json:"account,omitempty"`
	Text    string            `json:"text,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	// Anchor, for an accept event, is where the suggestion's thread
	// points from then on: the merged words.
	Anchor *comments.Anchor `json:"anchor,omitempty"`
	// Disposition and Proposed, for a dispose event (Text is the
	// response).
	Disposition string    `json:"disposition,omitempty"`
	Proposed    bool      `json:"proposed,omitempty"`
	Time        time.Time `json:"time"`
}

// Comment operations on an existing comment (ChangeComment.Op).
const (
	CommentEdit     = "edit"
	CommentWithdraw = "withdraw"
	CommentHide     = "hide"
	CommentReport   = "report"
	// CommentResolve and CommentReopen mark a thread dealt with, or not
	// (the team).
	CommentResolve = "resolve"
	CommentReopen  = "reopen"
	// CommentDispose records a thread's disposition and public response:
	// decided by the Secretariat, proposed by the team.
	CommentDispose = "dispose"
	// CommentAccept records a suggestion merged (AcceptSuggestion).
	CommentAccept = "accept"
)

// step applies a step the document took (doc is after it) to the
// comments: their anchors follow it, and a comment step's event is
// carried out.
func (c *commentState) structure(doc *editor.Document, sc *editor.Structure) error {
	c.anchors.MapStructure(doc, sc)
	if sc.Op != editor.OpComment {
		return nil
	}
	var ev commentEvent
	if err := json.Unmarshal(sc.Comment, &ev); err != nil {
		return fmt.Errorf("comment step: %w", err)
	}
	return c.apply(ev)
}

// apply carries out a comment event, as accepted: it was checked then.
func (c *commentState) apply(ev commentEvent) error {
	c.write()
	if ev.Kind == "add" {
		x := ev.Comment
		if x == nil || c.comments[x.ID] != nil {
			return fmt.Errorf("comment step: a comment to add that is missing or there already")
		}
		if x.Anchor != nil {
			if err := c.anchors.Add(x.ID, *x.Anchor); err != nil {
				return fmt.Errorf("comment step: %w", err)
			}
		}
		c.comments[x.ID] = x
		c.order = append(c.order, x.ID)
		return nil
	}
	old := c.comments[ev.ID]
	if old == nil {
		return fmt.Errorf("comment step: no comment %q", ev.ID)
	}
	x := *old
	x.Edits = slices.Clone(old.Edits)
	switch ev.Kind {
	case CommentEdit:
		if err := x.Edit(ev.Text, ev.Time); err != nil {
			return err
		}
	case CommentWithdraw:
		x.Withdrawn = true
	case CommentHide:
		x.Hidden, x.HiddenReason = true, ev.Reason
	case CommentResolve, CommentReopen:
		x.Resolved = ev.Kind == CommentResolve
	case CommentDispose:
		x.Disposition, x.Response, x.Proposed = ev.Disposition, ev.Text, ev.Proposed
	case CommentAccept:
		x.Disposition, x.Response, x.Proposed, x.Merged = ev.Disposition, ev.Text, false, true
		if ev.Anchor != nil { // the thread now points at the merged words
			c.anchors.Remove(ev.ID)
			if err := c.anchors.Add(ev.ID, *ev.Anchor); err != nil {
				return fmt.Errorf("comment step: %w", err)
			}
		}
	case CommentReport:
		c.reports[ev.ID] = append(slices.Clone(c.reports[ev.ID]), Report{Account: ev.Account, Reason: ev.Reason, Time: ev.Time})
		return nil
	default:
		return fmt.Errorf("comment step: unknown kind %q", ev.Kind)
	}
	c.comments[ev.ID] = &x
	return nil
}

// Target is where a new comment points: the whole document (no
// Section), a section (no Para), a paragraph (no range) or a quote: the
// range [Start, End) of the section's text, in UTF-16 units, at the
// section's version Version (positions made on an older version are
// brought to the current one).
type Target struct {
	Section string
	Para    string
	Start   int
	End     int
	Version int
	Quote   bool
}

// AddComment makes a comment, or a reply to the thread of Parent. With
// Suggest, it suggests Suggestion as new wording for its target (a
// paragraph, or words in it).
type AddComment struct {
	Author Author
	// ID is the new comment's id (the caller makes it unique).
	ID         string
	Parent     string
	Target     Target
	Text       string
	Suggest    bool
	Suggestion string
	Time       time.Time
}

// AcceptSuggestion merges a suggestion into the text, as the accepting
// person's change (the Secretariat): its change from the text it was
// made on to the wording it proposes, applied to the text there now;
// with Text, that text instead (accepted with changes). Response is the
// public answer recorded with it.
type AcceptSuggestion struct {
	Author   Author
	ID       string
	Text     *string
	Response string
	Time     time.Time
}

func (AcceptSuggestion) command() {}

// CodeConflict: a suggestion's change no longer fits the text there (its
// words were changed): nothing was merged; the Refusal's Current and
// Merged say what is there and what merging what fits would give.
const CodeConflict = "conflict"

// ChangeComment edits, withdraws (the author), hides (a moderator, with
// a Reason) or reports (anyone signed in, with a Reason) a comment;
// resolves or reopens a thread (the team); or records its Disposition
// with a public response in Text (the Secretariat decides, the team
// proposes).
type ChangeComment struct {
	Author      Author
	ID          string
	Op          string
	Text        string
	Reason      string
	Disposition string
	Time        time.Time
}

func (AddComment) command()    {}
func (ChangeComment) command() {}

// CodeCommentGone: the comment was withdrawn or hidden; it takes no
// replies or edits.
const CodeCommentGone = "comment_gone"

func (a *Authority) addComment(e *entry, c AddComment) error {
	if c.Author.Account == "" {
		return refuse(wire.CodeForbidden, "comments are made by a signed-in person")
	}
	action := access.Comment
	if c.Suggest {
		action = access.Suggest
	}
	if err := a.allowed(c.Author, action, c.Time); err != nil {
		return err
	}
	text, err := comments.CheckText(c.Text)
	if err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	name, err := comments.CheckName(c.Author.Name)
	if err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	if c.ID == "" || a.wc.comments[c.ID] != nil {
		return refuse(CodeInvalid, "a new comment needs an id of its own")
	}
	x := &comments.Comment{ID: c.ID, Doc: a.work.ID, Author: c.Author.Account, Name: name, Text: text, Created: c.Time}
	if c.Parent != "" {
		if c.Suggest {
			return refuse(CodeInvalid, "a reply suggests no wording: suggest on the paragraph")
		}
		p := a.wc.comments[c.Parent]
		if p == nil {
			return refuse(wire.CodeNotFound, "there is no comment %q to reply to", c.Parent)
		}
		if p.Parent != "" {
			p = a.wc.comments[p.Parent] // a reply joins the thread
		}
		if p.Withdrawn || p.Hidden {
			return refuse(CodeCommentGone, "comment %q was withdrawn or hidden: it takes no replies", p.ID)
		}
		x.Parent = p.ID
		x.Team = c.Author.Role == access.CoFacilitator || c.Author.Role == access.MAGFacilitator || c.Author.Role == access.Secretariat
	} else {
		anchor, err := a.anchorOf(c.Target)
		if err != nil {
			return err
		}
		anchor.Seq = a.work.Seq + 1 // as of the comment step
		x.Anchor = &anchor
		if c.Suggest {
			if anchor.Kind() != comments.KindParagraph && anchor.Kind() != comments.KindQuote {
				return refuse(CodeInvalid, "new wording is suggested for a paragraph, or for words in it")
			}
			_, _, original := a.targetText(anchor)
			sugg, err := comments.CheckSuggestion(original, c.Suggestion)
			if err != nil {
				return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
			}
			x.Original, x.Suggestion = original, sugg
		}
	}
	if err := x.Validate(); err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	return a.commentStep(e, c.Author, c.Time, commentEvent{Kind: "add", Comment: x, Time: c.Time})
}

// anchorOf makes the anchor of a target against the working document.
func (a *Authority) anchorOf(t Target) (comments.Anchor, error) {
	var anchor comments.Anchor
	var err error
	switch {
	case t.Section == "":
		anchor, err = comments.NewDocumentAnchor(a.work)
	case t.Para == "":
		anchor, err = comments.NewSectionAnchor(a.work, t.Section)
	case !t.Quote:
		anchor, err = comments.NewParagraphAnchor(a.work, t.Section, t.Para)
	default:
		start, end, ok := a.bringForward(t)
		if !ok {
			return anchor, refuse(wire.CodeTooOld, "version %d of section %q is too old to place the quote; reload and select it again", t.Version, t.Section)
		}
		anchor, err = comments.NewQuoteAnchor(a.work, t.Section, t.Para, start, end)
	}
	if err != nil {
		code := CodeInvalid
		if a.work.Section(t.Section) == nil {
			code = wire.CodeUnknownSection
		}
		return anchor, &Refusal{Code: code, Message: err.Error(), Err: err}
	}
	return anchor, nil
}

// bringForward maps a range given at an older version of its section to
// the current one, through the section's history; false when the
// version is not within it (or past the section's).
func (a *Authority) bringForward(t Target) (start, end int, ok bool) {
	s, h := a.work.Section(t.Section), a.sections[t.Section]
	if s == nil {
		return t.Start, t.End, true // the anchor says there is no such section
	}
	if t.Version == s.Version {
		return t.Start, t.End, true
	}
	if h == nil || t.Version < h.base || t.Version > s.Version {
		return 0, 0, false
	}
	start, end = t.Start, t.End
	for _, u := range h.recent[t.Version-h.base : s.Version-h.base] {
		if start < 0 || end > u.Changes.LenBefore() || start > end {
			return 0, 0, false
		}
		start, _ = u.Changes.MapPos(start, 1, editor.MapSimple)
		end, _ = u.Changes.MapPos(end, -1, editor.MapSimple)
		if end < start {
			end = start
		}
	}
	return start, end, true
}

func (a *Authority) changeComment(e *entry, c ChangeComment) error {
	x := a.wc.comments[c.ID]
	if x == nil {
		return refuse(wire.CodeNotFound, "there is no comment %q", c.ID)
	}
	ev := commentEvent{Kind: c.Op, ID: c.ID, Time: c.Time}
	switch c.Op {
	case CommentEdit, CommentWithdraw:
		if c.Author.Account == "" || c.Author.Account != x.Author {
			return refuse(wire.CodeForbidden, "only its author may edit or withdraw a comment")
		}
		if err := a.allowed(c.Author, access.Comment, c.Time); err != nil {
			return err
		}
		if x.Withdrawn || x.Hidden {
			return refuse(CodeCommentGone, "comment %q was withdrawn or hidden", c.ID)
		}
		if c.Op == CommentEdit {
			text, err := comments.CheckText(c.Text)
			if err != nil {
				return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
			}
			if text == x.Text {
				return nil // nothing to do
			}
			ev.Text = text
		}
	case CommentHide:
		if err := a.allowed(c.Author, access.Moderate, c.Time); err != nil {
			return err
		}
		reason := strings.TrimSpace(c.Reason)
		if reason == "" || len(reason) > 500 || strings.ContainsAny(reason, "\r\n") {
			return refuse(CodeInvalid, "hiding a comment needs a reason: one line of at most 500 bytes")
		}
		if x.Hidden {
			return nil
		}
		ev.Reason = reason
	case CommentDispose:
		if x.Parent != "" {
			return refuse(CodeInvalid, "a disposition is given to a thread's first comment, not a reply")
		}
		if !slices.Contains(comments.Dispositions, c.Disposition) {
			return refuse(CodeInvalid, "the disposition is one of %s", strings.Join(comments.Dispositions, ", "))
		}
		response, err := comments.CheckText(c.Text)
		if err != nil {
			return refuse(CodeInvalid, "the public response: %v", err)
		}
		if err := a.allowed(c.Author, access.Decide, c.Time); err != nil {
			// The team proposes, while nothing is decided.
			if a.allowed(c.Author, access.ProposeDecision, c.Time) != nil {
				return err
			}
			if x.Disposition != "" && !x.Proposed {
				return refuse(wire.CodeForbidden, "the Secretariat has decided on this comment already")
			}
			ev.Proposed = true
		}
		ev.Disposition, ev.Text = c.Disposition, response
	case CommentResolve, CommentReopen:
		// Dealing with the comments is the team's: what the matrix lets
		// it propose.
		if err := a.allowed(c.Author, access.ProposeDecision, c.Time); err != nil {
			return err
		}
		if x.Parent != "" {
			return refuse(CodeInvalid, "a thread is resolved by its first comment, not a reply")
		}
		if x.Resolved == (c.Op == CommentResolve) {
			return nil // already so
		}
	case CommentReport:
		if c.Author.Account == "" {
			return refuse(wire.CodeForbidden, "a report is made by a signed-in person")
		}
		reason := strings.TrimSpace(c.Reason)
		if reason == "" || len(reason) > 500 || strings.ContainsAny(reason, "\r\n") {
			return refuse(CodeInvalid, "a report says why, in one line of at most 500 bytes")
		}
		for _, r := range a.wc.reports[c.ID] {
			if r.Account == c.Author.Account {
				return refuse(CodeInvalid, "you reported this comment already")
			}
		}
		ev.Account, ev.Reason = c.Author.Account, reason
	default:
		return refuse(CodeInvalid, "unknown comment operation %q", c.Op)
	}
	return a.commentStep(e, c.Author, c.Time, ev)
}

// commentStep accepts a comment event as a step of the working document.
func (a *Authority) commentStep(e *entry, who Author, at time.Time, ev commentEvent) error {
	sc := editor.Structure{Op: editor.OpComment, Comment: mustJSON(ev)}
	if _, err := a.work.Apply(editor.Step{Structure: &sc, Time: at}); err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	if err := a.wc.structure(a.work, &sc); err != nil {
		// Cannot happen for an event checked above; undo the step.
		a.work.Seq--
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	id := ev.ID
	if ev.Comment != nil {
		id = ev.Comment.ID
	}
	e.comment = a.wc.comments[id]
	payload := mustJSON(sc)
	e.acc = append(e.acc, Accepted{
		Log: store.Update{Seq: a.work.Seq, Kind: store.KindStructure, ClientID: who.Client, Author: who.Name, Payload: payload, Time: at},
		Out: wire.Update{Seq: a.work.Seq, Client: who.Client, Structure: wireComment(ev)},
	})
	return nil
}

// wireComment is what connections are told of a comment event: that one
// happened, of what kind, to which comment — not its text, author or
// reasons, which the comments API gives each person as they may see
// them (a reader of a public draft is not to learn a hidden comment's
// text, or who reported what).
func wireComment(ev commentEvent) json.RawMessage {
	id := ev.ID
	if ev.Comment != nil {
		id = ev.Comment.ID
	}
	return mustJSON(editor.Structure{Op: editor.OpComment, Comment: mustJSON(commentEvent{Kind: ev.Kind, ID: id, Time: ev.Time})})
}

// wireStructure is the structure of a logged update as connections are
// told it (comment events cut down by wireComment).
func wireStructure(payload json.RawMessage) json.RawMessage {
	var sc struct {
		Op      string          `json:"op"`
		Comment json.RawMessage `json:"comment"`
	}
	if json.Unmarshal(payload, &sc) != nil || sc.Op != editor.OpComment {
		return payload
	}
	var ev commentEvent
	if json.Unmarshal(sc.Comment, &ev) != nil {
		return payload
	}
	return wireComment(ev)
}

// CommentView is a comment as it stands, with its anchor as mapped.
type CommentView struct {
	*comments.Comment
	// Current is where a thread's first comment points now.
	Current *comments.Anchor `json:"current,omitempty"`
	Reports int              `json:"reports,omitempty"`
}

// Comments returns the durable document's comments in the order they
// were made, each with its anchor as it now is.
func (a *Authority) Comments() []CommentView {
	return a.dc.views()
}

func (c *commentState) views() []CommentView {
	out := make([]CommentView, 0, len(c.order))
	for _, id := range c.order {
		v := CommentView{Comment: c.comments[id], Reports: len(c.reports[id])}
		if an, ok := c.anchors.Get(id); ok {
			v.Current = &an
		}
		out = append(out, v)
	}
	return out
}

// CommentReports returns the reports of a comment of the durable
// document.
func (a *Authority) CommentReports(id string) []Report {
	return slices.Clone(a.dc.reports[id])
}

// Snapshot returns a function that makes the durable document, as it is
// now, to store as a snapshot: with its comments and their anchors in
// Annotations. The function may run on another goroutine while the
// authority goes on (what it reads is never changed: the durable
// document and comments are replaced, not changed, and their clones copy
// before they write), so the encoding costs the authority nothing.
func (a *Authority) Snapshot() func() *editor.Document {
	d, c := a.durable, a.dc
	return func() *editor.Document {
		s := d.Clone()
		s.Annotations = c.marshal()
		return s
	}
}

var errCommentState = errors.New("comment state")

// targetText returns the range (UTF-16 units of its section's text, now)
// and the text of what an anchor of a paragraph or a quote points at.
func (a *Authority) targetText(an comments.Anchor) (from, to int, text string) {
	s := a.work.Section(an.Section)
	if s == nil {
		return 0, 0, ""
	}
	if an.Kind() == comments.KindQuote {
		b0, ok0 := editor.ByteOffset(s.Text, an.Start)
		b1, ok1 := editor.ByteOffset(s.Text, an.End)
		if !ok0 || !ok1 || b1 < b0 {
			return 0, 0, ""
		}
		return an.Start, an.End, s.Text[b0:b1]
	}
	for i, sp := range editor.Paragraphs(s.Text) {
		if i < len(s.Paras) && s.Paras[i] == an.Para {
			return editor.UTF16Offset(s.Text, sp.Start), editor.UTF16Offset(s.Text, sp.End), s.Text[sp.Start:sp.End]
		}
	}
	return 0, 0, ""
}

// acceptSuggestion merges a suggestion as a push by the accepting person
// and records it as accepted, in one command: of two accepts, the second
// finds it merged.
func (a *Authority) acceptSuggestion(e *entry, c AcceptSuggestion) error {
	if err := a.allowed(c.Author, access.Decide, c.Time); err != nil {
		return err
	}
	x := a.wc.comments[c.ID]
	switch {
	case x == nil:
		return refuse(wire.CodeNotFound, "there is no comment %q", c.ID)
	case x.Suggestion == "" && x.Original == "":
		return refuse(CodeInvalid, "comment %q suggests no wording", c.ID)
	case x.Merged:
		return refuse(CodeInvalid, "this suggestion was merged already")
	case x.Withdrawn || x.Hidden:
		return refuse(CodeCommentGone, "comment %q was withdrawn or hidden", c.ID)
	}
	response, err := comments.CheckText(c.Response)
	if err != nil {
		return refuse(CodeInvalid, "the public response: %v", err)
	}
	an, _ := a.wc.anchors.Get(c.ID)
	if an.State == comments.Orphaned {
		return &Refusal{Code: CodeConflict, Message: "the words this suggestion is about are no longer in the text; resolve it by hand or reject it"}
	}
	from, to, current := a.targetText(an)
	result, disposition := "", "accepted"
	if c.Text != nil {
		result, disposition = *c.Text, "accepted-with-changes"
	} else {
		merged, ok := comments.Merge(x.Original, x.Suggestion, current)
		if !ok {
			return &Refusal{Code: CodeConflict, Message: "the text was changed where the suggestion changes it: here is what is there now, and what the suggestion would make of it; resolve it by hand or reject it",
				Current: current, Merged: merged}
		}
		result = merged
	}
	sec := a.work.Section(an.Section)
	cs, err := editor.ChangeSetOf([]editor.Change{{From: from, To: to, Insert: result}}, editor.UTF16Len(sec.Text))
	if err != nil {
		return &Refusal{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	if result != current {
		if err := a.push(e, Push{Author: c.Author, Section: an.Section, Base: sec.Version, Updates: []editor.ChangeSet{cs}, Time: c.Time}); err != nil {
			return err
		}
	}
	ev := commentEvent{Kind: CommentAccept, ID: c.ID, Disposition: disposition, Text: response, Time: c.Time}
	if an.Kind() == comments.KindQuote && result != "" {
		// The thread points at the merged words from now on (the push
		// replaced the quoted ones, which would orphan it).
		if na, err := comments.NewQuoteAnchor(a.work, an.Section, a.paraAt(an.Section, from), from, from+editor.UTF16Len(result)); err == nil {
			na.Seq = a.work.Seq + 1 // as of the comment step
			ev.Anchor = &na
		}
	}
	if err := a.commentStep(e, c.Author, c.Time, ev); err != nil {
		// Undo the push: the entry is refused whole.
		return err
	}
	return nil
}

// paraAt returns the id of the paragraph of a section's working text that
// holds the UTF-16 position pos ("" if none).
func (a *Authority) paraAt(section string, pos int) string {
	s := a.work.Section(section)
	if s == nil {
		return ""
	}
	for i, sp := range editor.Paragraphs(s.Text) {
		if i < len(s.Paras) && editor.UTF16Offset(s.Text, sp.Start) <= pos && pos <= editor.UTF16Offset(s.Text, sp.End) {
			return s.Paras[i]
		}
	}
	return ""
}
