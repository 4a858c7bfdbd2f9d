package collab

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Comments over HTTP: made, replied to, edited, withdrawn, reported and
// hidden through the document's authority (so they are ordered with the
// edits and reach every open editor as comment steps), read from it.

// commentView is a comment as a person sees it: what is withdrawn or
// hidden is not shown (but to the Secretariat), nor who wrote it beyond
// the name it was written under.
type commentView struct {
	ID      string    `json:"id"`
	Parent  string    `json:"parent,omitempty"`
	Name    string    `json:"name"`
	Team    bool      `json:"team,omitempty"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
	Edited  time.Time `json:"edited,omitzero"`
	Mine    bool      `json:"mine,omitempty"`
	Status  string    `json:"status"`
	// Suggestion is new wording proposed for the target, Original the
	// text it was made on, Merged whether it was merged into the text.
	Suggestion *string `json:"suggestion,omitempty"`
	Original   string  `json:"original,omitempty"`
	Merged     bool    `json:"merged,omitempty"`
	// Redline is the change the suggestion makes to the original.
	Redline []comments.Part `json:"redline,omitempty"`
	// Patch is the same change as go-diff's patch text against Original.
	Patch string `json:"patch,omitempty"`
	// Disposition and Response: what was decided about a thread, and the
	// public answer; Proposed marks one the team proposed, shown only to
	// the team and the Secretariat.
	Disposition string           `json:"disposition,omitempty"`
	Response    string           `json:"response,omitempty"`
	Proposed    bool             `json:"proposed,omitempty"`
	Reason      string           `json:"hidden_reason,omitempty"`
	Anchor      *comments.Anchor `json:"anchor,omitempty"`
	MadeOn      *comments.Anchor `json:"made_on,omitempty"`
	Reports     int              `json:"reports,omitempty"`
	Author      string           `json:"author,omitempty"`
	Edits       []comments.Edit  `json:"edits,omitempty"`
	Replies     []commentView    `json:"replies,omitempty"`
	// Actions are the links to what the person may do to the comment
	// (the reading view's; not part of the API).
	Actions  []commentAction   `json:"-"`
	internal *comments.Comment `json:"-"`
}

// status says where a comment stands: open, withdrawn, hidden, resolved
// (the team dealt with it), or orphaned (its words are gone from the
// text).
func commentStatus(v authority.CommentView) string {
	switch {
	case v.Hidden:
		return "hidden"
	case v.Withdrawn:
		return "withdrawn"
	case v.Resolved || v.Merged:
		return "resolved"
	case v.Current != nil && v.Current.State == comments.Orphaned:
		return "orphaned"
	}
	return "open"
}

// viewComments turns the authority's comments into threads as the
// person may see them.
func viewComments(list []authority.CommentView, w who, team bool) []commentView {
	moderator := w.account != nil && w.account.Secretariat
	var top []commentView
	index := map[string]int{}
	for _, c := range list {
		v := commentView{ID: c.ID, Parent: c.Parent, Name: c.Name, Team: c.Team, Text: c.Text, Created: c.Created,
			Status: commentStatus(c), Anchor: c.Current, MadeOn: c.Anchor, internal: c.Comment}
		if n := len(c.Edits); n > 0 {
			v.Edited = c.Edits[n-1].Time
		}
		v.Mine = w.account != nil && w.account.ID == c.Author
		if c.Suggestion != "" || c.Original != "" {
			sugg := c.Suggestion
			v.Suggestion, v.Original, v.Merged = &sugg, c.Original, c.Merged
			v.Redline = comments.RedlineParts(c.Original, c.Suggestion)
			v.Patch = comments.Patch(c.Original, c.Suggestion)
		}
		if c.Disposition != "" && (!c.Proposed || team) {
			v.Disposition, v.Response, v.Proposed = c.Disposition, c.Response, c.Proposed
		}
		if c.Hidden {
			v.Reason = c.HiddenReason
		}
		if (c.Hidden || c.Withdrawn) && !moderator {
			v.Text = ""
		}
		if moderator {
			v.Reports, v.Author, v.Edits = c.Reports, c.Author, c.Edits
		}
		if c.Parent == "" {
			index[c.ID] = len(top)
			top = append(top, v)
		} else if i, ok := index[c.Parent]; ok {
			top[i].Replies = append(top[i].Replies, v)
		}
	}
	if top == nil {
		top = []commentView{}
	}
	return top
}

// documentComments reads a document's comments from its authority.
func (s *Server) documentComments(r *http.Request, id string) ([]authority.CommentView, error) {
	var list []authority.CommentView
	err := s.query(r.Context(), id, func(a *authority.Authority) { list = a.Comments() })
	return list, err
}

// commentReader loads the document of a comments route and checks the
// person may read it at all (its draft or what is published).
func (s *Server) commentReader(w http.ResponseWriter, r *http.Request) (*editor.Document, bool) {
	doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "document", err)
		return nil, false
	}
	if !s.readable(r.Context(), whoOf(r), doc) {
		writeError(w, http.StatusNotFound, "not_found", "document \""+doc.ID+"\" does not exist or is not published")
		return nil, false
	}
	return doc, true
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.commentReader(w, r)
	if !ok {
		return
	}
	list, err := s.documentComments(r, doc.ID)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": viewComments(list, whoOf(r), s.isTeam(r, doc.ID))})
}

type commentRequest struct {
	// Suggestion, when present, is new wording for the paragraph or the
	// words the comment is on ("" suggests deleting them).
	Suggestion *string `json:"suggestion"`
	Parent     string  `json:"parent"`
	Section    string  `json:"section"`
	Para       string  `json:"para"`
	Start      *int    `json:"start"`
	End        *int    `json:"end"`
	Version    int     `json:"version"`
	Text       string  `json:"text"`
}

// commentName is the name a comment is shown under: the team's own; for
// the public, their name when they agreed to be named, else their
// stakeholder group.
func commentName(w who, role access.Role) string {
	a := w.account
	if role != access.Public || a.NamedInReport {
		return a.Name
	}
	if a.StakeholderGroup != "" {
		return "A participant (" + a.StakeholderGroup + ")"
	}
	return "A participant"
}

// duplicateWindow is how long the same text from the same person is
// refused as a repeat.
const duplicateWindow = 10 * time.Minute

// makeComment checks the limits and asks the authority for a comment.
func (s *Server) makeComment(r *http.Request, d docRequest, req commentRequest) (*comments.Comment, error) {
	wh := whoOf(r)
	if ok, wait := s.abuse.comments.allowAll(s.limitKeys(r), s.now()); !ok {
		return nil, tooManyFailure(wait, "comments")
	}
	text, err := comments.CheckText(req.Text)
	if err != nil {
		return nil, err
	}
	list, err := s.documentComments(r, d.doc.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.Author == wh.account.ID && c.Text == text && s.now().Sub(c.Created) < duplicateWindow {
			return nil, &failure{status: http.StatusConflict, code: "duplicate", msg: "you posted this comment already"}
		}
	}
	t := authority.Target{Section: req.Section, Para: req.Para, Version: req.Version}
	if req.Start != nil || req.End != nil {
		if req.Start == nil || req.End == nil || req.Para == "" {
			return nil, fmt.Errorf("%w: a quote needs \"para\", \"start\" and \"end\"", editor.ErrInvalid)
		}
		t.Start, t.End, t.Quote = *req.Start, *req.End, true
	}
	author := s.authorOf(r, d.role)
	author.Name = commentName(wh, d.role)
	add := authority.AddComment{Author: author, ID: s.newID(), Parent: req.Parent, Target: t, Text: text, Time: s.now().UTC()}
	if req.Suggestion != nil {
		add.Suggest, add.Suggestion = true, *req.Suggestion
	}
	out, err := s.do(r.Context(), d.doc.ID, add)
	if err != nil {
		return nil, err
	}
	s.audit(r.Context(), r, "comment", d.doc.BPF, d.doc.ID, out.Comment.ID)
	return out.Comment, nil
}

func (s *Server) postComment(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req commentRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	c, err := s.makeComment(r, d, req)
	if err != nil {
		s.refuse(w, r, "comment", err)
		return
	}
	s.answerComment(w, r, d.doc.ID, c.ID, http.StatusCreated)
}

// answerComment answers the comment as it now is.
func (s *Server) answerComment(w http.ResponseWriter, r *http.Request, doc, id string, status int) {
	list, err := s.documentComments(r, doc)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	for _, v := range viewComments(list, whoOf(r), s.isTeam(r, doc)) {
		if v.ID == id {
			writeJSON(w, status, v)
			return
		}
		for _, rv := range v.Replies {
			if rv.ID == id {
				writeJSON(w, status, rv)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no such comment")
}

type changeCommentRequest struct {
	Text        string `json:"text"`
	Reason      string `json:"reason"`
	Disposition string `json:"disposition"`
	Response    string `json:"response"`
}

// changeComment carries out op on the route's comment.
func (s *Server) changeComment(op string, status int) func(http.ResponseWriter, *http.Request, docRequest) {
	return func(w http.ResponseWriter, r *http.Request, d docRequest) {
		var req changeCommentRequest
		if r.Method != http.MethodDelete && !s.decodeJSON(w, r, &req) {
			return
		}
		id := r.PathValue("comment")
		text := req.Text
		if op == authority.CommentDispose {
			text = req.Response
		}
		_, err := s.do(r.Context(), d.doc.ID, authority.ChangeComment{Author: s.authorOf(r, d.role), ID: id, Op: op,
			Text: text, Reason: req.Reason, Disposition: req.Disposition, Time: s.now().UTC()})
		if err != nil {
			s.refuse(w, r, "comment", err)
			return
		}
		s.audit(r.Context(), r, "comment "+op, d.doc.BPF, d.doc.ID, id+" "+req.Reason)
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		s.answerComment(w, r, d.doc.ID, id, status)
	}
}

// reportComment records a report under the Code of Conduct: anyone
// signed in who may read the document.
func (s *Server) reportComment(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.commentReader(w, r)
	if !ok {
		return
	}
	var req changeCommentRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	if err != nil {
		s.storeError(w, r, "account", err)
		return
	}
	id := r.PathValue("comment")
	if _, err := s.do(r.Context(), doc.ID, authority.ChangeComment{Author: s.authorOf(r, role), ID: id, Op: authority.CommentReport,
		Reason: req.Reason, Time: s.now().UTC()}); err != nil {
		s.refuse(w, r, "comment", err)
		return
	}
	s.audit(r.Context(), r, "comment report", doc.BPF, doc.ID, id+" "+req.Reason)
	w.WriteHeader(http.StatusNoContent)
}

// exportComments writes every comment of a document, with its anchor,
// thread, author as named, status and times, as CSV or JSON.
func (s *Server) exportComments(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.commentReader(w, r)
	if !ok {
		return
	}
	list, err := s.documentComments(r, doc.ID)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	views := viewComments(list, whoOf(r), s.isTeam(r, doc.ID))
	name := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, doc.Title)
	switch f := r.URL.Query().Get("format"); f {
	case "json", "":
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+` comments.json"`)
		writeJSON(w, http.StatusOK, map[string]any{"document": doc.ID, "title": doc.Title, "comments": views})
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+` comments.csv"`)
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "thread", "name", "team", "status", "created", "edited", "section", "paragraph", "quote", "anchor_state", "made_on_version", "text"})
		row := func(v commentView, thread string) {
			var section, para, quote, state, version string
			if v.Anchor != nil {
				section, para, state = v.Anchor.Section, v.Anchor.Para, string(v.Anchor.State)
				if v.Anchor.Quote != nil {
					quote = v.Anchor.Quote.Exact
				}
			}
			if v.MadeOn != nil {
				version = strconv.Itoa(v.MadeOn.Version)
			}
			edited := ""
			if !v.Edited.IsZero() {
				edited = v.Edited.UTC().Format(time.RFC3339)
			}
			cw.Write([]string{v.ID, thread, csvSafe(v.Name), strconv.FormatBool(v.Team), v.Status, v.Created.UTC().Format(time.RFC3339), edited,
				section, para, csvSafe(quote), state, version, csvSafe(v.Text)})
		}
		for _, v := range views {
			row(v, v.ID)
			for _, rv := range v.Replies {
				row(rv, v.ID)
			}
		}
		cw.Flush()
	default:
		writeError(w, http.StatusBadRequest, "bad_format", "unknown export format "+strconv.Quote(f)+"; use csv or json")
	}
}

// isTeam reports whether the person is of the document's team (or the
// Secretariat): who may propose what is done with comments, and sees
// what the team proposed.
func (s *Server) isTeam(r *http.Request, id string) bool {
	doc, err := s.currentDocument(r.Context(), id)
	if err != nil {
		return false
	}
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	return err == nil && (role == access.CoFacilitator || role == access.MAGFacilitator || role == access.Secretariat)
}

type acceptRequest struct {
	// Text, when present, is the wording to put instead of the merged
	// suggestion (accepted with changes).
	Text     *string `json:"text"`
	Response string  `json:"response"`
}

// acceptSuggestion merges a suggestion into the live text (the
// Secretariat); a conflict answers 409 with what is there and what the
// suggestion would make of it.
func (s *Server) acceptSuggestion(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req acceptRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	id := r.PathValue("comment")
	_, err := s.do(r.Context(), d.doc.ID, authority.AcceptSuggestion{Author: s.authorOf(r, d.role), ID: id, Text: req.Text, Response: req.Response, Time: s.now().UTC()})
	var refusal *authority.Refusal
	if errors.As(err, &refusal) && refusal.Code == authority.CodeConflict {
		var e struct {
			Error   struct{ Code, Message string } `json:"error"`
			Current string                         `json:"current"`
			Merged  string                         `json:"merged"`
		}
		e.Error.Code, e.Error.Message, e.Current, e.Merged = refusal.Code, refusal.Message, refusal.Current, refusal.Merged
		writeJSON(w, http.StatusConflict, e)
		return
	}
	if err != nil {
		s.refuse(w, r, "comment", err)
		return
	}
	s.audit(r.Context(), r, "suggestion accepted", d.doc.BPF, d.doc.ID, id)
	s.answerComment(w, r, d.doc.ID, id, http.StatusOK)
}
