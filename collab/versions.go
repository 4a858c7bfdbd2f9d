package collab

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Versions and redlines: the versions a document keeps (each published
// one, and any the Secretariat names), and what changed between any two,
// per section, as a redline. The public compares what it may read (the
// published versions); the team any version and the live draft.

// versionView is a kept version of a document.
type versionView struct {
	Seq     int64  `json:"seq"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

// readableVersions lists the versions the person may read: all of them
// for who may read the live draft, else only those published (the one
// opened for comment, the final).
func (s *Server) readableVersions(r *http.Request, doc *editor.Document, live bool) ([]store.VersionInfo, error) {
	list, err := s.store.ListVersions(r.Context(), doc.ID)
	if err != nil {
		return nil, err
	}
	if live {
		return list, nil
	}
	var out []store.VersionInfo
	for _, v := range list {
		if publishedName(v.Name) {
			out = append(out, v)
		}
	}
	return out, nil
}

// publishedName reports whether a version's name is a published
// version's: the one opened for public comment, the final output and
// each correction of it.
func publishedName(name string) bool {
	return name == "opened for public comment" || name == "final" || strings.HasPrefix(name, "correction: ")
}

// canReadLive reports whether the person may read the document's live
// draft.
func (s *Server) canReadLive(r *http.Request, doc *editor.Document) bool {
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	return err == nil && access.Check(role, access.ReadDraft, authority.ContextOf(doc, s.now())) == nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.commentReader(w, r)
	if !ok {
		return
	}
	list, err := s.readableVersions(r, doc, s.canReadLive(r, doc))
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	out := []versionView{}
	for _, v := range list {
		out = append(out, versionView{Seq: v.Seq, Name: v.Name, Created: v.Created.UTC().Format("2006-01-02T15:04:05Z")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

type nameVersionRequest struct {
	Name string `json:"name"`
}

// nameVersion keeps the document as it is now under a name (the
// Secretariat).
func (s *Server) nameVersion(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req nameVersionRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	v, err := s.keepVersion(r, d, req.Name)
	if err != nil {
		s.refuse(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) keepVersion(r *http.Request, d docRequest, name string) (versionView, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsAny(name, "\r\n") {
		return versionView{}, &failure{status: http.StatusBadRequest, code: "invalid", msg: "a version's name is one line of 1 to 100 characters"}
	}
	if publishedName(name) {
		return versionView{}, &failure{status: http.StatusBadRequest, code: "invalid", msg: "that name is the published versions'"}
	}
	now := s.now().UTC()
	if err := s.store.PutVersion(r.Context(), d.doc, name, now); err != nil {
		return versionView{}, err
	}
	s.audit(r.Context(), r, "version named", d.doc.BPF, d.doc.ID, fmt.Sprintf("%s at %d", name, d.doc.Seq))
	return versionView{Seq: d.doc.Seq, Name: name, Created: now.Format("2006-01-02T15:04:05Z")}, nil
}

// sectionChange is what changed in one section between two versions.
type sectionChange struct {
	Number  int
	ID      string
	Title   string
	Status  string // "changed", "added", "removed", "same"
	Redline template.HTML
	Parts   []comments.Part `json:"parts"`
}

// versionAt returns the document at a version the person may read: "live"
// (or empty) for the live draft, else a kept version's seq.
func (s *Server) versionAt(r *http.Request, doc *editor.Document, which string, live bool) (*editor.Document, string, error) {
	if which == "" || which == "live" {
		if !live {
			return nil, "", &failure{status: http.StatusForbidden, code: "forbidden", msg: "the live draft is its team's"}
		}
		return doc, "the live draft", nil
	}
	seq, err := strconv.ParseInt(which, 10, 64)
	if err != nil || seq < 0 {
		return nil, "", &failure{status: http.StatusBadRequest, code: "invalid", msg: "a version is \"live\" or the seq of a kept version"}
	}
	list, err := s.readableVersions(r, doc, live)
	if err != nil {
		return nil, "", err
	}
	for _, v := range list {
		if v.Seq == seq {
			d, err := s.store.GetVersion(r.Context(), doc.ID, seq)
			return d, v.Name, err
		}
	}
	return nil, "", &failure{status: http.StatusNotFound, code: "not_found", msg: "no such version (or not one you may read)"}
}

// compare gives, per section, what changed from a to b.
func compare(a, b *editor.Document) []sectionChange {
	var out []sectionChange
	for i, sb := range b.Sections {
		sc := sectionChange{Number: i + 1, ID: sb.ID, Title: sb.Title}
		sa := a.Section(sb.ID)
		switch {
		case sa == nil:
			sc.Status, sc.Parts = "added", []comments.Part{{Op: "+", Text: sb.Text}}
		case sa.Text == sb.Text:
			sc.Status = "same"
		default:
			sc.Status, sc.Parts = "changed", comments.RedlineParts(sa.Text, sb.Text)
		}
		out = append(out, sc)
	}
	for _, sa := range a.Sections {
		if b.Section(sa.ID) == nil {
			out = append(out, sectionChange{ID: sa.ID, Title: sa.Title, Status: "removed", Parts: []comments.Part{{Op: "-", Text: sa.Text}}})
		}
	}
	for i := range out {
		var h strings.Builder
		for _, p := range out[i].Parts {
			t := template.HTMLEscapeString(p.Text)
			switch p.Op {
			case "-":
				h.WriteString("<del>" + t + "</del>")
			case "+":
				h.WriteString("<ins>" + t + "</ins>")
			default:
				h.WriteString(t)
			}
		}
		out[i].Redline = template.HTML(h.String()) // escaped above
	}
	return out
}

type compareData struct {
	Doc              *editor.Document
	From, To         string
	FromName, ToName string
	Versions         []store.VersionInfo
	Live             bool
	Sections         []sectionChange
	Changed          int
	Secretariat      bool
}

var comparePage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
<p><a href="/d/{{.Doc.ID}}">{{.Doc.Title}}</a></p>
<h1>What changed</h1>
<p>From <strong>{{.FromName}}</strong> to <strong>{{.ToName}}</strong>: {{.Changed}} sections changed. Deleted text is struck through, added text underlined.</p>
<form method="get" action="/d/{{.Doc.ID}}/changes" class="compare-form">
<div class="form-group"><label for="from">From</label><select id="from" name="from">{{$from := .From}}{{range .Versions}}<option value="{{.Seq}}"{{if eq (print .Seq) $from}} selected{{end}}>{{.Name}} ({{.Created.UTC.Format "2 Jan 2006"}})</option>{{end}}{{if .Live}}<option value="live"{{if eq $from "live"}} selected{{end}}>The live draft</option>{{end}}</select></div>
<div class="form-group"><label for="to">To</label><select id="to" name="to">{{$to := .To}}{{range .Versions}}<option value="{{.Seq}}"{{if eq (print .Seq) $to}} selected{{end}}>{{.Name}} ({{.Created.UTC.Format "2 Jan 2006"}})</option>{{end}}{{if .Live}}<option value="live"{{if eq $to "live"}} selected{{end}}>The live draft</option>{{end}}</select></div>
<button type="submit" class="button button-secondary">Compare</button>
</form>
{{$restore := and .Secretariat (ne .From "live") (eq .To "live")}}{{$doc := .Doc.ID}}{{$fromName := .FromName}}{{$from := .From}}
{{range .Sections}}{{if ne .Status "same"}}<section class="doc-section"><h2>{{if .Number}}{{.Number}}. {{end}}{{.Title}}{{if ne .Status "changed"}} <span class="tag">{{.Status}}</span>{{end}}</h2>
<div class="redline version-redline">{{.Redline}}</div>
{{if and $restore (eq .Status "changed")}}<form method="post" action="/d/{{$doc}}/restore">{{template "csrf" $csrf}}<input type="hidden" name="version" value="{{$from}}"><input type="hidden" name="section" value="{{.ID}}"><button type="submit" class="button button-secondary" aria-label="Restore {{.Title}} to {{$fromName}}">Restore this section to {{$fromName}}</button></form>{{end}}</section>
{{end}}{{end}}
{{if .Secretariat}}<h2 id="name-version">Keep this version</h2>
<form method="post" action="/d/{{.Doc.ID}}/versions" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="version-name">Name of the live draft as it is now</label><input type="text" id="version-name" name="name" size="40"></div>
<button type="submit" class="button button-secondary">Keep it</button>
</form>{{end}}
</main>{{end}}{{end}}`)

// changesPage shows what changed between two versions. By default: from
// the version opened for public comment to the final one (for the
// public) or to the live draft (for the team).
func (s *Server) changesPage(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.readablePage(w, r)
	if !ok {
		return
	}
	data, err := s.changes(r, doc)
	if err != nil {
		s.page(w, r, statusOf(err), messagePage, "What changed", message{Title: "These versions cannot be compared", Text: s.messageOf(r, err) + "."})
		return
	}
	s.page(w, r, http.StatusOK, comparePage, "What changed", data)
}

func (s *Server) changes(r *http.Request, doc *editor.Document) (*compareData, error) {
	live := s.canReadLive(r, doc)
	list, err := s.readableVersions(r, doc, live)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		for _, v := range list {
			if v.Name == "opened for public comment" {
				from = strconv.FormatInt(v.Seq, 10)
			}
		}
		if from == "" && len(list) > 0 {
			from = strconv.FormatInt(list[0].Seq, 10)
		}
	}
	if to == "" {
		to = "live"
		final := doc.Workflow.StageOf() == editor.StageFinal
		for _, v := range list {
			if (!live && v.Seq > 0) || (final && publishedName(v.Name) && v.Name != "opened for public comment") {
				to = strconv.FormatInt(v.Seq, 10) // the last published, or the final
			}
		}
	}
	if from == "" {
		return nil, &failure{status: http.StatusNotFound, code: "not_found", msg: "no version is kept yet to compare with"}
	}
	a, aName, err := s.versionAt(r, doc, from, live)
	if err != nil {
		return nil, err
	}
	b, bName, err := s.versionAt(r, doc, to, live)
	if err != nil {
		return nil, err
	}
	d := &compareData{Doc: doc, From: from, To: to, FromName: aName, ToName: bName, Versions: list, Live: live, Sections: compare(a, b)}
	for _, sc := range d.Sections {
		if sc.Status != "same" {
			d.Changed++
		}
	}
	wh := whoOf(r)
	d.Secretariat = wh.signedIn() && wh.account.Secretariat
	return d, nil
}

// changesJSON is the comparison for the API.
func (s *Server) changesJSON(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.commentReader(w, r)
	if !ok {
		return
	}
	d, err := s.changes(r, doc)
	if err != nil {
		s.refuse(w, r, "document", err)
		return
	}
	type section struct {
		ID     string          `json:"id"`
		Title  string          `json:"title"`
		Status string          `json:"status"`
		Parts  []comments.Part `json:"parts,omitempty"`
	}
	out := struct {
		From     string    `json:"from"`
		To       string    `json:"to"`
		Sections []section `json:"sections"`
	}{From: d.From, To: d.To, Sections: []section{}}
	for _, sc := range d.Sections {
		out.Sections = append(out.Sections, section{sc.ID, sc.Title, sc.Status, sc.Parts})
	}
	writeJSON(w, http.StatusOK, out)
}

// nameVersionPage keeps the live draft under a name, from the changes
// page's form.
func (s *Server) nameVersionPage(w http.ResponseWriter, r *http.Request, d docRequest) {
	v, err := s.keepVersion(r, d, r.PostFormValue("name"))
	if err != nil {
		s.page(w, r, statusOf(err), messagePage, "Keep a version", message{Title: "The version was not kept", Text: s.messageOf(r, err) + "."})
		return
	}
	http.Redirect(w, r, "/d/"+d.doc.ID+"/changes?to="+strconv.FormatInt(v.Seq, 10), http.StatusSeeOther)
}

type restoreRequest struct {
	Version int64  `json:"version"`
	Section string `json:"section"`
}

// restore brings a section, or every section, back to its text in a kept
// version: as a new change everyone sees (the Secretariat's edit, in the
// history like any), never a rewrite of history. Sections added since are
// left as they are; a section removed since cannot come back this way.
func (s *Server) restore(r *http.Request, d docRequest, version int64, section string) (restored []string, err error) {
	old, err := s.store.GetVersion(r.Context(), d.doc.ID, version)
	if err != nil {
		return nil, err
	}
	for _, sec := range d.doc.Sections {
		if section != "" && sec.ID != section {
			continue
		}
		was := old.Section(sec.ID)
		if was == nil || was.Text == sec.Text {
			continue
		}
		cs, err := editor.ChangeSetOf(comments.ChangesBetween(sec.Text, was.Text), editor.UTF16Len(sec.Text))
		if err != nil {
			return restored, err
		}
		if _, err := s.do(r.Context(), d.doc.ID, authority.Push{Author: s.authorOf(r, d.role), Section: sec.ID, Base: sec.Version,
			Updates: []editor.ChangeSet{cs}, Time: s.now().UTC()}); err != nil {
			return restored, err
		}
		restored = append(restored, sec.ID)
	}
	if section != "" && d.doc.Section(section) == nil {
		return nil, &failure{status: http.StatusNotFound, code: "not_found", msg: "the document has no section " + strconv.Quote(section) + " now"}
	}
	s.audit(r.Context(), r, "restored", d.doc.BPF, d.doc.ID, fmt.Sprintf("version %d: %s", version, strings.Join(restored, ", ")))
	return restored, nil
}

func (s *Server) restoreJSON(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req restoreRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	restored, err := s.restore(r, d, req.Version, req.Section)
	if err != nil {
		s.refuse(w, r, "version", err)
		return
	}
	if restored == nil {
		restored = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"restored": restored})
}

func (s *Server) restorePage(w http.ResponseWriter, r *http.Request, d docRequest) {
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if _, err := s.restore(r, d, version, r.PostFormValue("section")); err != nil {
		s.page(w, r, statusOf(err), messagePage, "Restore", message{Title: "Nothing was restored", Text: s.messageOf(r, err) + "."})
		return
	}
	http.Redirect(w, r, "/d/"+d.doc.ID+"/changes?from="+strconv.FormatInt(version, 10)+"&to=live", http.StatusSeeOther)
}
