package collab

import (
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Comments on the reading view: rendered on the server under the
// paragraph (or section) they are about, readable without script, each
// with a permalink; a link to comment on a paragraph for those who may.
// The form to comment is a page of its own, so that writing works
// without script too.

// commentMargin builds the reading view's Annotate: the comments of
// each paragraph after it, those of each section (and those whose words
// are gone) after the section, those of the whole document after the
// last section.
func commentMargin(doc *editor.Document, threads []commentView, v viewer) func(section, para string, number int) string {
	canComment := v.comment
	for i := range threads {
		threads[i].Actions = v.actions(doc.ID, threads[i], true)
		for j := range threads[i].Replies {
			threads[i].Replies[j].Actions = v.actions(doc.ID, threads[i].Replies[j], false)
		}
	}
	byPara := map[string][]commentView{}
	bySection := map[string][]commentView{}
	var whole []commentView
	shown := map[string]bool{}
	for _, sec := range doc.Sections {
		for _, p := range sec.Paras {
			shown[sec.ID+"/"+p] = true
		}
	}
	for _, t := range threads {
		a := t.Anchor
		switch {
		case a == nil || a.Section == "":
			whole = append(whole, t)
		case a.Para != "" && a.State != comments.Orphaned && shown[a.Section+"/"+a.Para]:
			byPara[a.Section+"/"+a.Para] = append(byPara[a.Section+"/"+a.Para], t)
		default:
			bySection[a.Section] = append(bySection[a.Section], t)
		}
	}
	last := ""
	if n := len(doc.Sections); n > 0 {
		last = doc.Sections[n-1].ID
	}
	return func(section, para string, number int) string {
		var b strings.Builder
		if para != "" {
			list := byPara[section+"/"+para]
			if len(list) == 0 && !canComment {
				return ""
			}
			writeComments(&b, "comments-"+para, list, "Comments on paragraph "+itoa(number), commentLink(doc.ID, section, para, canComment, "Comment on paragraph "+itoa(number)))
			return b.String()
		}
		if list := bySection[section]; len(list) > 0 || canComment {
			n := itoa(doc.Number(section))
			writeComments(&b, "comments-"+section, list, "Comments on section "+n, commentLink(doc.ID, section, "", canComment, "Comment on section "+n))
		}
		if section == last && (len(whole) > 0 || canComment) {
			writeComments(&b, "comments-document", whole, "Comments on the whole document", commentLink(doc.ID, "", "", canComment, "Comment on the whole document"))
		}
		return b.String()
	}
}

func commentLink(doc, section, para string, can bool, label string) string {
	if !can {
		return ""
	}
	q := url.Values{}
	if section != "" {
		q.Set("section", section)
	}
	if para != "" {
		q.Set("para", para)
	}
	return `<p class="comment-add"><a href="/d/` + url.PathEscape(doc) + `/comment?` + template.HTMLEscapeString(q.Encode()) + `">` + template.HTMLEscapeString(label) + `</a></p>`
}

var commentsTemplate = template.Must(template.New("comments").Funcs(template.FuncMap{
	"text": func(s string) template.HTML { return template.HTML(comments.RenderHTML(s)) },
	"redline": func(original string, suggestion *string) template.HTML {
		return template.HTML(comments.Redline(original, *suggestion)) // escaped by Redline
	},
	"when": func(c commentView) string { return c.Created.UTC().Format("2 Jan 2006, 15:04 UTC") },
}).Parse(`<aside class="comments" id="{{.ID}}" aria-label="{{.Label}}">{{if .List}}<details{{if le (len .List) 3}} open{{end}}><summary>{{.Label}}: {{len .List}}</summary>
<ol class="comment-list">{{range .List}}{{template "comment" .}}{{end}}</ol></details>{{end}}{{.Add}}</aside>
{{define "comment"}}<li class="comment comment-{{.Status}}" id="comment-{{.ID}}">
<p class="comment-meta"><strong>{{.Name}}</strong>{{if .Team}} <span class="tag">team</span>{{end}} · {{when .}}{{if not .Edited.IsZero}} · edited{{end}} · <a href="#comment-{{.ID}}" aria-label="Link to this comment">link</a></p>
{{with .Anchor}}{{with .Quote}}<p class="comment-quote">On the words <q>{{.Exact}}</q>{{if eq $.Status "orphaned"}} (no longer in the text){{end}}</p>{{end}}{{end}}
{{if .Suggestion}}<p class="suggestion"><strong>{{if .Merged}}Suggested wording, merged into the text{{else}}Suggested wording{{end}}:</strong> <span class="redline">{{redline .Original .Suggestion}}</span></p>{{end}}
{{if eq .Status "resolved"}}<p class="comment-resolved"><span class="tag">resolved</span> The team has dealt with this comment.</p>{{end}}
{{if eq .Status "hidden"}}<p class="comment-gone">Hidden by the moderator{{with .Reason}}: {{.}}{{end}}.</p>{{else if eq .Status "withdrawn"}}<p class="comment-gone">Withdrawn by its author.</p>{{else}}<div class="comment-text">{{text .Text}}</div>{{end}}
{{if .Actions}}<p class="comment-actions">{{range $i, $a := .Actions}}{{if $i}} · {{end}}<a href="{{$a.URL}}">{{$a.Label}}</a>{{end}}</p>{{end}}
{{if .Replies}}<ol class="comment-replies">{{range .Replies}}{{template "comment" .}}{{end}}</ol>{{end}}</li>
{{end}}`))

func writeComments(b *strings.Builder, id string, list []commentView, label, add string) {
	commentsTemplate.Execute(b, struct {
		ID, Label string
		List      []commentView
		Add       template.HTML
	}{id, label, list, template.HTML(add)})
}

type commentForm struct {
	formError
	Doc        *editor.Document
	Section    string
	Para       string
	Where      string
	Context    string
	Quote      string
	Text       string
	Suggestion string
}

var commentPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<p><a href="/d/{{.Doc.ID}}">{{.Doc.Title}}</a></p>
<h1>Comment on {{.Where}}</h1>
{{with .Context}}<blockquote class="comment-context">{{.}}</blockquote>{{end}}
<p>Comments are public, under the IGF Code of Conduct. They are shown with the name you agreed to be named by, or your stakeholder group.</p>
<form method="post" action="/d/{{.Doc.ID}}/comment" novalidate>{{template "csrf" $csrf}}
<input type="hidden" name="section" value="{{.Section}}"><input type="hidden" name="para" value="{{.Para}}">
{{if .Para}}<div class="form-group"><label for="quote">The words you comment on (optional)</label><p class="hint" id="quote-hint">Copy them from the paragraph above, exactly; leave empty to comment on the whole paragraph.</p>
<input type="text" id="quote" name="quote" value="{{.Quote}}" aria-describedby="quote-hint" size="60"></div>{{end}}
{{if .Para}}<div class="form-group"><label for="suggestion">New wording (optional)</label><p class="hint" id="suggestion-hint">To suggest a change, edit the words (or the paragraph) here as you would write them; left as they are, you only comment.</p>
<textarea id="suggestion" name="suggestion" rows="4" aria-describedby="suggestion-hint">{{.Suggestion}}</textarea></div>{{end}}
<div class="form-group"><label for="text">Your comment</label><textarea id="text" name="text" rows="8">{{.Text}}</textarea></div>
<button type="submit" class="button">Post the comment</button>
</form>
</main>{{end}}{{end}}`)

// commentFormFor fills the form of a comment on what the query names.
func (s *Server) commentFormFor(d docRequest, section, para string) (*commentForm, bool) {
	f := &commentForm{Doc: d.doc, Section: section, Para: para, Where: "the whole document"}
	if section == "" {
		return f, true
	}
	sec := d.doc.Section(section)
	if sec == nil {
		return f, false
	}
	n := d.doc.Number(section)
	f.Where = "section " + itoa(n) + ", " + sec.Title
	if para == "" {
		return f, true
	}
	for i, p := range sec.Paras {
		if p == para {
			spans := editor.Paragraphs(sec.Text)
			f.Context = sec.Text[spans[i].Start:spans[i].End]
			f.Where = "a paragraph of section " + itoa(n) + ", " + sec.Title
			return f, true
		}
	}
	return f, false
}

func (s *Server) commentPageGet(w http.ResponseWriter, r *http.Request, d docRequest) {
	q := r.URL.Query()
	f, ok := s.commentFormFor(d, q.Get("section"), q.Get("para"))
	if !ok {
		s.notFound(w, r, "no such paragraph")
		return
	}
	f.Quote = q.Get("quote") // words selected on the reading view
	// The new wording starts as the text it is for: the words, or the
	// paragraph. Left as it is, the comment suggests nothing.
	f.Suggestion = f.Context
	if f.Quote != "" && strings.Contains(f.Context, f.Quote) {
		f.Suggestion = f.Quote
	}
	s.page(w, r, http.StatusOK, commentPage, "Comment", f)
}

// commentPagePost posts a comment from the form: on the paragraph, or on
// the words given in it (their first occurrence).
func (s *Server) commentPagePost(w http.ResponseWriter, r *http.Request, d docRequest) {
	f, ok := s.commentFormFor(d, r.PostFormValue("section"), r.PostFormValue("para"))
	if !ok {
		s.notFound(w, r, "no such paragraph")
		return
	}
	f.Quote, f.Text, f.Suggestion = r.PostFormValue("quote"), r.PostFormValue("text"), r.PostFormValue("suggestion")
	req := commentRequest{Section: f.Section, Para: f.Para, Text: f.Text}
	// New wording that differs from the text it is for (the words, or
	// the paragraph) is a suggestion; the text as it is, or nothing, is
	// not.
	target := f.Context
	if q := strings.TrimSpace(f.Quote); q != "" {
		target = q
	}
	if sugg := strings.ReplaceAll(f.Suggestion, "\r\n", "\n"); strings.TrimSpace(sugg) != "" && sugg != target && f.Para != "" {
		req.Suggestion = &sugg
	}
	var err error
	if q := strings.TrimSpace(f.Quote); q != "" && f.Para != "" {
		sec := d.doc.Section(f.Section)
		i := strings.Index(f.Context, q)
		if i < 0 {
			err = &failure{status: http.StatusBadRequest, code: "invalid", msg: "those words are not in the paragraph: copy them exactly, or leave the field empty"}
		} else {
			start := strings.Index(sec.Text, f.Context) + i
			a, b := editor.UTF16Offset(sec.Text, start), editor.UTF16Offset(sec.Text, start+len(q))
			req.Start, req.End, req.Version = &a, &b, sec.Version
		}
	}
	var c *comments.Comment
	if err == nil {
		c, err = s.makeComment(r, d, req)
	}
	if err != nil {
		f.Error, f.ErrorFor = s.messageOf(r, err), "text"
		s.page(w, r, statusOf(err), commentPage, "Comment", f)
		return
	}
	http.Redirect(w, r, "/d/"+url.PathEscape(d.doc.ID)+"#comment-"+c.ID, http.StatusSeeOther)
}

// viewer is what the person reading may do to comments.
type viewer struct {
	comment, signedIn, moderator, team bool
}

// commentAction is a link to do something to a comment.
type commentAction struct{ Label, URL string }

// actions lists what the viewer may do to comment c (a thread's first
// comment when top).
func (v viewer) actions(doc string, c commentView, top bool) []commentAction {
	var out []commentAction
	add := func(label, action string) {
		out = append(out, commentAction{label, "/d/" + url.PathEscape(doc) + "/comments/" + url.PathEscape(c.ID) + "/" + action})
	}
	open := c.Status == "open" || c.Status == "orphaned" || c.Status == "resolved"
	if v.comment && top && open {
		add("Reply", "reply")
	}
	if v.team && top && (c.Status == "open" || c.Status == "orphaned") {
		add("Resolve", "resolve")
	}
	if v.team && top && c.Status == "resolved" {
		add("Reopen", "reopen")
	}
	if v.comment && c.Mine && open {
		add("Edit", "edit")
		add("Withdraw", "withdraw")
	}
	if v.signedIn && !c.Mine && c.Status != "hidden" && c.Status != "withdrawn" {
		add("Report", "report")
	}
	if v.moderator && c.Status != "hidden" {
		add("Hide", "hide")
	}
	if v.moderator && top && c.Suggestion != nil && !c.Merged && open {
		add("Accept the suggestion", "accept")
	}
	return out
}

// readingComments returns the reading view's Annotate and Counts for the
// person: nil when the document has no comments and they may not
// comment.
func (s *Server) readingComments(r *http.Request, live, shown *editor.Document, role access.Role) (func(string, string, int) string, func(string, string) int) {
	wh := whoOf(r)
	can := access.Check(role, access.Comment, authority.ContextOf(live, s.now())) == nil && wh.signedIn()
	v := viewer{comment: can, signedIn: wh.signedIn(), moderator: wh.signedIn() && wh.account.Secretariat,
		team: access.Check(role, access.ProposeDecision, authority.ContextOf(live, s.now())) == nil}
	list, err := s.documentComments(r, live.ID)
	if err != nil {
		s.log.Warn("comments for the reading view", "doc", live.ID, "err", err)
		return nil, nil
	}
	if len(list) == 0 && !can {
		return nil, nil
	}
	threads := viewComments(list, wh, s.isTeam(r, live.ID))
	return commentMargin(shown, threads, v), commentCounts(threads)
}

// commentCounts gives the number of comments (replies included) on each
// paragraph, for the reading view's margin.
func commentCounts(threads []commentView) func(section, para string) int {
	n := map[string]int{}
	for _, t := range threads {
		if a := t.Anchor; a != nil && a.Para != "" && a.State != comments.Orphaned {
			n[a.Section+"/"+a.Para] += 1 + len(t.Replies)
		}
	}
	return func(section, para string) int { return n[section+"/"+para] }
}

type commentActionForm struct {
	formError
	Doc     *editor.Document
	Comment commentView
	Action  string
	Title   string
	Field   string // "text", "reason" or "" (a confirmation)
	Label   string
	Value   string
	Button  string
	// Merge and Conflict, for accepting a suggestion: what merging it
	// gives, and the text there now when it does not fit.
	Merge, Conflict string
}

var commentActionPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<p><a href="/d/{{.Doc.ID}}#comment-{{.Comment.ID}}">{{.Doc.Title}}</a></p>
<h1>{{.Title}}</h1>
<blockquote class="comment-context"><strong>{{.Comment.Name}}</strong>: {{.Comment.Text}}</blockquote>
<form method="post" action="/d/{{.Doc.ID}}/comments/{{.Comment.ID}}/{{.Action}}" novalidate>{{template "csrf" $csrf}}
{{if .Conflict}}<div class="inset"><p><strong>The text was changed where the suggestion changes it.</strong> Below is what merging what still fits gives: adjust it, or reject the suggestion on the disposition report.</p>
<table class="data conflict"><thead><tr><th scope="col">Suggested (on the text as it was)</th><th scope="col">There now</th></tr></thead>
<tbody><tr><td>{{with .Comment.Suggestion}}{{redline $.Content.Comment.Original .}}{{end}}</td><td>{{.Conflict}}</td></tr></tbody></table></div>{{end}}
{{if eq .Field "text"}}<div class="form-group"><label for="text">{{.Label}}</label><textarea id="text" name="text" rows="8">{{.Value}}</textarea></div>
{{else if eq .Field "reason"}}<div class="form-group"><label for="reason">{{.Label}}</label><input type="text" id="reason" name="reason" value="{{.Value}}" size="60"></div>
{{end}}{{if eq .Action "accept"}}<div class="form-group"><label for="response">Public response</label><textarea id="response" name="response" rows="3">Merged into the text. Thank you.</textarea></div>
{{end}}<button type="submit" class="button">{{.Button}}</button>
</form>
</main>{{end}}{{end}}`)

// commentActions says, for each action on a comment, its form and what
// of the matrix it needs ("" for anyone signed in who may read).
var commentActions = map[string]struct {
	title, field, label, button string
	need                        access.Action
}{
	"reply":    {"Reply to a comment", "text", "Your reply", "Post the reply", access.Comment},
	"edit":     {"Edit your comment", "text", "Your comment", "Save", access.Comment},
	"withdraw": {"Withdraw your comment", "", "", "Withdraw it", access.Comment},
	"report":   {"Report a comment", "reason", "Why it breaks the IGF Code of Conduct", "Report it", ""},
	"hide":     {"Hide a comment", "reason", "The reason shown in its place", "Hide it", access.Moderate},
	"resolve":  {"Mark a comment as dealt with", "", "", "Mark it resolved", access.ProposeDecision},
	"reopen":   {"Reopen a comment", "", "", "Reopen it", access.ProposeDecision},
	"accept":   {"Accept a suggestion", "text", "The wording to put in the text (change it to accept with changes)", "Merge it into the text", access.Decide},
}

// commentAction serves the page of an action on a comment, and does it.
func (s *Server) commentAction(w http.ResponseWriter, r *http.Request) {
	spec, ok := commentActions[r.PathValue("action")]
	if !ok {
		s.notFound(w, r, "no such page")
		return
	}
	doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
	if err != nil || !s.readable(r.Context(), whoOf(r), doc) {
		s.notFound(w, r, "no such document")
		return
	}
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	if err != nil {
		s.storeError(w, r, "account", err)
		return
	}
	d := docRequest{doc: doc, role: role, ctx: authority.ContextOf(doc, s.now())}
	if !whoOf(r).signedIn() {
		s.forbidden(w, r, errors.New("sign in first"))
		return
	}
	if spec.need != "" {
		if err := access.Check(role, spec.need, d.ctx); err != nil {
			s.forbidden(w, r, err)
			return
		}
	}
	list, err := s.documentComments(r, doc.ID)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	f := &commentActionForm{Doc: doc, Action: r.PathValue("action"), Title: spec.title, Field: spec.field, Label: spec.label, Button: spec.button}
	found := false
	for _, t := range viewComments(list, whoOf(r), s.isTeam(r, doc.ID)) {
		for _, c := range append([]commentView{t}, t.Replies...) {
			if c.ID == r.PathValue("comment") {
				f.Comment, found = c, true
			}
		}
	}
	if !found {
		s.notFound(w, r, "no such comment")
		return
	}
	if f.Action == "edit" {
		f.Value = f.Comment.Text
	}
	if f.Action == "accept" {
		if f.Comment.Suggestion == nil || f.Comment.Anchor == nil {
			s.notFound(w, r, "no such suggestion")
			return
		}
		current := anchoredText(doc, *f.Comment.Anchor)
		merged, ok := comments.Merge(f.Comment.Original, *f.Comment.Suggestion, current)
		f.Value, f.Merge = merged, merged
		if !ok {
			f.Conflict = current
		}
	}
	if r.Method == http.MethodGet {
		s.page(w, r, http.StatusOK, commentActionPage, spec.title, f)
		return
	}
	f.Value = r.PostFormValue(spec.field)
	id := f.Comment.ID
	switch f.Action {
	case "reply":
		var c *comments.Comment
		c, err = s.makeComment(r, d, commentRequest{Parent: id, Text: f.Value})
		if err == nil {
			id = c.ID
		}
	case "accept":
		acc := authority.AcceptSuggestion{Author: s.authorOf(r, role), ID: id, Response: r.PostFormValue("response"), Time: s.now().UTC()}
		if f.Value != f.Merge || f.Conflict != "" {
			acc.Text = &f.Value // accepted with changes
		}
		if _, err = s.do(r.Context(), doc.ID, acc); err == nil {
			s.audit(r.Context(), r, "suggestion accepted", doc.BPF, doc.ID, id)
		}
	default:
		op := map[string]string{"edit": authority.CommentEdit, "withdraw": authority.CommentWithdraw, "report": authority.CommentReport,
			"hide": authority.CommentHide, "resolve": authority.CommentResolve, "reopen": authority.CommentReopen}[f.Action]
		ch := authority.ChangeComment{Author: s.authorOf(r, role), ID: id, Op: op, Time: s.now().UTC()}
		if spec.field == "text" {
			ch.Text = f.Value
		} else {
			ch.Reason = f.Value
		}
		if _, err = s.do(r.Context(), doc.ID, ch); err == nil {
			s.audit(r.Context(), r, "comment "+op, doc.BPF, doc.ID, id+" "+ch.Reason)
		}
	}
	if err != nil {
		f.Error, f.ErrorFor = s.messageOf(r, err), cmp.Or(spec.field, "main")
		s.page(w, r, statusOf(err), commentActionPage, spec.title, f)
		return
	}
	http.Redirect(w, r, "/d/"+url.PathEscape(doc.ID)+"#comment-"+id, http.StatusSeeOther)
}

// anchoredText is the text an anchor of a paragraph or a quote points at
// in doc now.
func anchoredText(doc *editor.Document, a comments.Anchor) string {
	sec := doc.Section(a.Section)
	if sec == nil {
		return ""
	}
	if a.Quote != nil {
		b0, ok0 := editor.ByteOffset(sec.Text, a.Start)
		b1, ok1 := editor.ByteOffset(sec.Text, a.End)
		if ok0 && ok1 && b0 <= b1 {
			return sec.Text[b0:b1]
		}
		return ""
	}
	for i, sp := range editor.Paragraphs(sec.Text) {
		if i < len(sec.Paras) && sec.Paras[i] == a.Para {
			return sec.Text[sp.Start:sp.End]
		}
	}
	return ""
}
