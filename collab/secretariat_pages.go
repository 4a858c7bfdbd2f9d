package collab

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// The Secretariat's pages: the dashboard of BPFs and their documents, a
// BPF's team and checklist, a document's stage and window, the audit
// log. Each form posts to the page it is on and works without script.

var pageFuncs = template.FuncMap{
	// utc formats a time in UTC; local is the same time as a <time>
	// element, which a script may show in the reader's time zone.
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "not set"
		}
		return t.UTC().Format("2 January 2006, 15:04 UTC")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04")
	},
	"date":             func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"inc":              func(i int) int { return i + 1 },
	"dispositionLabel": comments.DispositionLabel,
	"redline": func(original string, suggestion any) template.HTML {
		var sugg string
		switch v := suggestion.(type) {
		case string:
			sugg = v
		case *string:
			sugg = *v
		}
		return template.HTML(comments.Redline(original, sugg)) // escaped by Redline
	},
}

func itoa(n int) string { return strconv.Itoa(n) }

// docRow is a document on the dashboard.
type docRow struct {
	store.DocInfo
	Stage    editor.Stage
	Workflow editor.Workflow
	Problems int
}

type bpfGroup struct {
	*editor.BPF
	Docs []docRow
}

type yearGroup struct {
	Year int
	BPFs []bpfGroup
}

type dashboardData struct {
	formError
	Years      []yearGroup
	Loose      []docRow
	BPFs       []*editor.BPF
	Templates  []*editor.Template
	Broken     []store.DocInfo
	NewBPF     createBPFRequest
	NewDoc     createDocumentRequest
	Created    string
	CreatedURL string
}

var dashboardPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}{{with .Created}}<div class="panel" role="status"><p>{{.}}{{with $.Content.CreatedURL}} <a href="{{.}}">Open it</a>.{{end}}</p></div>
{{end}}<h1>Dashboard</h1>
<p>Every Best Practice Forum by year, with its documents, the stage each is in and how complete it is.</p>
{{range .Years}}<h2>{{.Year}}</h2>
{{range .BPFs}}<h3>{{.Name}}</h3>
<p>{{with .MeetingDate}}Annual meeting from {{.}}. {{end}}<a href="/bpfs/{{.ID}}">Team, invitations and checklist</a></p>
{{template "docs" .Docs}}{{end}}{{end}}
{{with .Loose}}<h2>Documents of no BPF</h2>{{template "docs" .}}{{end}}
{{with .Broken}}<h2>Documents that cannot be read</h2><ul>{{range .}}<li>{{or .Title .ID}}: {{.Broken}}</li>{{end}}</ul>{{end}}
<h2 id="new-bpf">Create a BPF</h2>
<form method="post" action="/dashboard/bpfs" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="bpf-name">Name</label><input type="text" id="bpf-name" name="name" value="{{.NewBPF.Name}}" size="50"></div>
<div class="form-group"><label for="bpf-year">Year</label><input type="number" id="bpf-year" name="year" value="{{with .NewBPF.Year}}{{.}}{{end}}" min="2006" max="2100"></div>
<div class="form-group"><label for="bpf-meeting">First day of the annual meeting (optional)</label><p class="hint" id="bpf-meeting-hint">YYYY-MM-DD. The comment window opens six weeks before it by default.</p>
<input type="text" id="bpf-meeting" name="meeting_date" value="{{.NewBPF.MeetingDate}}" aria-describedby="bpf-meeting-hint" size="12"></div>
<button type="submit" class="button">Create the BPF</button>
</form>
<h2 id="new-doc">Create a document</h2>
<form method="post" action="/dashboard/documents" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="doc-title">Title</label><input type="text" id="doc-title" name="title" value="{{.NewDoc.Title}}" size="50"></div>
<div class="form-group"><label for="doc-template">Template</label><select id="doc-template" name="template">{{$t := .NewDoc.Template}}{{range .Templates}}<option value="{{.Name}}"{{if eq .Name $t}} selected{{end}}>{{.Title}}</option>{{end}}</select></div>
<div class="form-group"><label for="doc-bpf">BPF</label><select id="doc-bpf" name="bpf">{{$b := .NewDoc.BPF}}<option value="">None</option>{{range .BPFs}}<option value="{{.ID}}"{{if eq .ID $b}} selected{{end}}>{{.Name}} ({{.Year}})</option>{{end}}</select></div>
<button type="submit" class="button">Create the document</button>
</form>
<p>Or <a href="/import">import a draft written elsewhere</a>.</p>
</main>{{end}}{{end}}
{{define "docs"}}{{if .}}<table class="data"><thead><tr><th scope="col">Document</th><th scope="col">Stage</th><th scope="col">Completeness</th><th scope="col">Last change</th><th scope="col">Actions</th></tr></thead><tbody>
{{range .}}<tr><td><a href="/d/{{.ID}}">{{.Title}}</a></td><td>{{.Stage}}{{if eq (print .Stage) "public-comment"}}<br><span class="hint">until {{utc .Workflow.Closes}}</span>{{end}}</td>
<td>{{if .Problems}}{{.Problems}} to fix{{else}}complete{{end}}</td><td>{{date .Updated}} ({{.Seq}} changes)</td>
<td><a href="/edit/{{.ID}}" aria-label="Edit {{.Title}}">Edit</a> · <a href="/d/{{.ID}}/settings" aria-label="Stage and window of {{.Title}}">Stage</a> · <a href="/api/documents/{{.ID}}/export?format=md" aria-label="Export {{.Title}} as Markdown">Markdown</a> · <a href="/api/documents/{{.ID}}/export?format=html" aria-label="Export {{.Title}} as HTML">HTML</a></td></tr>
{{end}}</tbody></table>{{else}}<p>No documents yet.</p>{{end}}{{end}}`)

// dashboard gathers every BPF and document for the Secretariat.
func (s *Server) dashboard(r *http.Request) (*dashboardData, error) {
	ctx := r.Context()
	d := &dashboardData{Templates: editor.Templates(), NewDoc: createDocumentRequest{Template: "bpf-output"}}
	bpfs, err := s.store.ListBPFs(ctx)
	if err != nil && len(bpfs) == 0 {
		return nil, err
	}
	slices.SortFunc(bpfs, func(a, b *editor.BPF) int { return cmp.Or(b.Year-a.Year, strings.Compare(a.Name, b.Name)) })
	d.BPFs = bpfs
	docs, err := s.store.ListDocuments(ctx, "")
	if err != nil {
		return nil, err
	}
	byBPF := map[string][]docRow{}
	for _, info := range docs {
		if info.Broken != "" {
			d.Broken = append(d.Broken, info)
			continue
		}
		doc, err := s.currentDocument(ctx, info.ID)
		if err != nil {
			info.Broken = "it cannot be loaded"
			d.Broken = append(d.Broken, info)
			continue
		}
		c := editor.Check(doc)
		row := docRow{DocInfo: store.InfoOf(doc), Stage: doc.Workflow.StageOf(), Workflow: doc.Workflow, Problems: c.Errors}
		byBPF[doc.BPF] = append(byBPF[doc.BPF], row)
	}
	for _, b := range bpfs {
		if len(d.Years) == 0 || d.Years[len(d.Years)-1].Year != b.Year {
			d.Years = append(d.Years, yearGroup{Year: b.Year})
		}
		y := &d.Years[len(d.Years)-1]
		y.BPFs = append(y.BPFs, bpfGroup{BPF: b, Docs: byBPF[b.ID]})
		delete(byBPF, b.ID)
	}
	for _, rows := range byBPF { // no BPF, or one that is gone
		d.Loose = append(d.Loose, rows...)
	}
	return d, nil
}

func (s *Server) dashboardGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboard(r)
	if err != nil {
		s.log.Error("dashboard", "err", err)
		http.Error(w, "the dashboard cannot be made right now", http.StatusInternalServerError)
		return
	}
	s.page(w, r, http.StatusOK, dashboardPage, "Dashboard", d)
}

func (s *Server) dashboardNewBPF(w http.ResponseWriter, r *http.Request) {
	year, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue("year")))
	req := createBPFRequest{Name: r.PostFormValue("name"), Year: year, MeetingDate: strings.TrimSpace(r.PostFormValue("meeting_date"))}
	b, err := s.makeBPF(r, req)
	s.dashboardAfter(w, r, err, func(d *dashboardData) {
		if err != nil {
			d.NewBPF, d.ErrorFor = req, "bpf-name"
			return
		}
		d.Created = "The BPF " + b.Name + " was created."
		d.CreatedURL = "/bpfs/" + b.ID
	})
}

func (s *Server) dashboardNewDocument(w http.ResponseWriter, r *http.Request) {
	req := createDocumentRequest{Template: r.PostFormValue("template"), Title: r.PostFormValue("title"), BPF: r.PostFormValue("bpf")}
	doc, err := s.makeDocument(r, req)
	s.dashboardAfter(w, r, err, func(d *dashboardData) {
		if err != nil {
			d.NewDoc, d.ErrorFor = req, "doc-title"
			return
		}
		d.Created = "The document " + doc.Title + " was created."
		d.CreatedURL = "/edit/" + doc.ID
	})
}

// dashboardAfter shows the dashboard after a form: with the error, or
// with what was created.
func (s *Server) dashboardAfter(w http.ResponseWriter, r *http.Request, err error, fill func(*dashboardData)) {
	d, derr := s.dashboard(r)
	if derr != nil {
		s.log.Error("dashboard", "err", derr)
		http.Error(w, "the dashboard cannot be made right now", http.StatusInternalServerError)
		return
	}
	status := http.StatusOK
	if err != nil {
		d.Error, status = s.messageOf(r, err), statusOf(err)
	}
	fill(d)
	s.page(w, r, status, dashboardPage, "Dashboard", d)
}

// checkItem is one line of the modalities' checklist for a completed BPF.
type checkItem struct {
	Label  string
	Done   bool
	Known  bool
	Detail string
}

type teamData struct {
	formError
	BPF         *editor.BPF
	Members     []memberView
	Invitations []invitationView
	Link        string
	Checklist   []checkItem
	Role        string
	Note        string
}

var teamPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<p><a href="/dashboard">Dashboard</a></p>
<h1>{{.BPF.Name}} <span class="tag">{{.BPF.Year}}</span></h1>
{{with .Link}}<div class="panel" role="status"><h2>Invitation link</h2><p>Send this link to the person you invite. It is shown only now, works once and expires.</p><p><code id="invitation-link">{{.}}</code></p></div>
{{end}}<h2>Checklist of a completed BPF</h2>
<p class="hint">From the IGF's modalities for Best Practice Forums, filled in from what bpfdraft knows.</p>
<ul>{{range .Checklist}}<li><strong>{{if not .Known}}Not recorded{{else if .Done}}Done{{else}}Not yet{{end}}</strong>: {{.Label}}{{with .Detail}} ({{.}}){{end}}</li>{{end}}</ul>
<h2>Team</h2>
{{if .Members}}<table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
{{range .Members}}<tr><td>{{.Name}}</td><td>{{.Email}}</td><td>{{.Role}}</td><td>{{date .Added}}</td><td><form method="post" action="/bpfs/{{$.Content.BPF.ID}}/members/{{.Account}}/remove" class="inline-form">{{template "csrf" $csrf}}<button type="submit" class="link-button" aria-label="Remove {{.Name}} from the team">Remove</button></form></td></tr>
{{end}}</tbody></table>{{else}}<p>Nobody has joined yet.</p>{{end}}
<h2>Invitations</h2>
{{if .Invitations}}<table class="data"><thead><tr><th scope="col">For</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
{{range .Invitations}}<tr><td>{{or .Note "—"}}</td><td>{{.Role}}</td><td>{{.State}}</td><td>{{utc .Expires}}</td><td>{{if eq .State "open"}}<form method="post" action="/bpfs/{{$.Content.BPF.ID}}/invitations/{{.ID}}/revoke" class="inline-form">{{template "csrf" $csrf}}<button type="submit" class="link-button" aria-label="Withdraw the invitation for {{or .Note .Role}}">Withdraw</button></form>{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No invitations yet.</p>{{end}}
<h2 id="invite">Invite someone</h2>
<form method="post" action="/bpfs/{{.BPF.ID}}/invitations" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><fieldset><legend>Role</legend>{{$r := .Role}}
<div class="checkbox"><input type="radio" id="role" name="role" value="co-facilitator"{{if ne $r "mag-facilitator"}} checked{{end}}><label for="role">Co-facilitator</label></div>
<div class="checkbox"><input type="radio" id="role-mag" name="role" value="mag-facilitator"{{if eq $r "mag-facilitator"}} checked{{end}}><label for="role-mag">MAG facilitator</label></div>
</fieldset></div>
<div class="form-group"><label for="note">Who it is for</label><p class="hint" id="note-hint">A name, for your list; it is not sent anywhere.</p><input type="text" id="note" name="note" value="{{.Note}}" aria-describedby="note-hint" size="40"></div>
<button type="submit" class="button">Make an invitation link</button>
</form>
</main>{{end}}{{end}}`)

// team gathers a BPF's team page.
func (s *Server) team(r *http.Request, bpf string) (*teamData, error) {
	ctx := r.Context()
	b, err := s.store.GetBPF(ctx, bpf)
	if err != nil {
		return nil, err
	}
	t := &teamData{BPF: b}
	if t.Members, err = s.members(ctx, bpf); err != nil {
		return nil, err
	}
	invs, err := s.store.ListInvitations(ctx, bpf)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		t.Invitations = append(t.Invitations, s.viewOfInvitation(inv))
	}
	t.Checklist, err = s.checklist(r, b)
	return t, err
}

// checklist fills the modalities' checklist of a completed BPF from the
// BPF's documents.
func (s *Server) checklist(r *http.Request, b *editor.BPF) ([]checkItem, error) {
	docs, err := s.store.ListDocuments(r.Context(), b.ID)
	if err != nil {
		return nil, err
	}
	var opened, final *editor.Document
	for _, info := range docs {
		doc, err := s.currentDocument(r.Context(), info.ID)
		if err != nil {
			continue
		}
		if st := doc.Workflow.StageOf(); st != editor.StageDrafting && (opened == nil || doc.Workflow.Opens.Before(opened.Workflow.Opens)) {
			opened = doc
		}
		if doc.Workflow.StageOf() == editor.StageFinal {
			final = doc
		}
	}
	now := s.now()
	items := []checkItem{{Label: "at least 3 open virtual meetings held, with their summaries",
		Detail: "bpfdraft does not keep meeting summaries yet"}}
	published := checkItem{Label: "draft published for public comment ahead of the annual meeting", Known: true}
	window := checkItem{Label: "the public comment window held", Known: true}
	if opened != nil {
		published.Done = true
		published.Detail = "opened " + opened.Workflow.Opens.UTC().Format(time.DateOnly)
		if _, meeting, ok := editor.DefaultWindow(b); ok {
			weeks := meeting.Sub(opened.Workflow.Opens).Hours() / (24 * 7)
			published.Detail += fmt.Sprintf(", %.1f weeks before the annual meeting", weeks)
		}
		window.Done = !now.Before(opened.Workflow.Closes)
		window.Detail = "from " + opened.Workflow.Opens.UTC().Format(time.DateOnly) + " to " + opened.Workflow.Closes.UTC().Format(time.DateOnly)
		if !window.Done {
			window.Detail += ", not closed yet"
		}
	}
	finalItem := checkItem{Label: "final output published", Known: true, Done: final != nil}
	if final != nil {
		finalItem.Detail = final.Title + ", " + final.Workflow.Since.UTC().Format(time.DateOnly)
	}
	return append(items, published, window, finalItem), nil
}

func (s *Server) teamGet(w http.ResponseWriter, r *http.Request) {
	s.teamAfter(w, r, nil, nil)
}

// teamAfter shows the team page after a form: with its error, or with
// what was done.
func (s *Server) teamAfter(w http.ResponseWriter, r *http.Request, err error, fill func(*teamData)) {
	t, terr := s.team(r, r.PathValue("id"))
	if terr != nil {
		if errors.Is(terr, store.ErrNotFound) {
			http.Error(w, "There is no such BPF.", http.StatusNotFound)
			return
		}
		http.Error(w, "This BPF cannot be shown: "+s.messageOf(r, terr), statusOf(terr))
		return
	}
	status := http.StatusOK
	if err != nil {
		t.Error, status = s.messageOf(r, err), statusOf(err)
	}
	if fill != nil {
		fill(t)
	}
	s.page(w, r, status, teamPage, t.BPF.Name, t)
}

func (s *Server) teamInvite(w http.ResponseWriter, r *http.Request) {
	req := inviteRequest{Role: r.PostFormValue("role"), Note: r.PostFormValue("note")}
	_, link, err := s.invite(r, r.PathValue("id"), req)
	s.teamAfter(w, r, err, func(t *teamData) {
		if err != nil {
			t.Role, t.Note, t.ErrorFor = req.Role, req.Note, "note"
			return
		}
		t.Link = s.absolute(r, link)
	})
}

func (s *Server) teamRevoke(w http.ResponseWriter, r *http.Request) {
	err := s.revoke(r, r.PathValue("id"), r.PathValue("inv"))
	s.teamAfter(w, r, err, nil)
}

func (s *Server) teamRemove(w http.ResponseWriter, r *http.Request) {
	err := s.removeFromTeam(r, r.PathValue("id"), r.PathValue("account"))
	s.teamAfter(w, r, err, nil)
}

type settingsData struct {
	formError
	Doc         *editor.Document
	Stage, Next editor.Stage
	Workflow    editor.Workflow
	Opens       string
	Closes      string
	WindowOpen  bool
	Done        string
}

var settingsPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}{{with .Done}}<div class="panel" role="status"><p>{{.}}</p></div>
{{end}}<p><a href="/dashboard">Dashboard</a></p>
<h1>{{.Doc.Title}}: stage and comment window</h1>
<p>Stage: <strong>{{.Stage}}</strong>{{if not .Workflow.Since.IsZero}} since {{utc .Workflow.Since}}{{end}}.</p>
{{if eq (print .Stage) "public-comment"}}<p>Comment window: from <time datetime="{{.Workflow.Opens.UTC.Format "2006-01-02T15:04:05Z"}}">{{utc .Workflow.Opens}}</time> to <time datetime="{{.Workflow.Closes.UTC.Format "2006-01-02T15:04:05Z"}}">{{utc .Workflow.Closes}}</time>; {{if .WindowOpen}}open now{{else}}closed now{{end}}.</p>{{end}}
<p>Stages follow each other in this order: drafting, public comment, revision, final. Opening public comment and publishing the final output each publish a version, which stays as it was.</p>
<form method="post" action="/d/{{.Doc.ID}}/settings" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="stage">Stage</label><select id="stage" name="stage"><option value="{{.Stage}}" selected>{{.Stage}} (stay)</option>{{with .Next}}<option value="{{.}}">{{.}} (move on)</option>{{end}}</select></div>
<div class="form-group"><label for="opens">Comment window opens (UTC)</label><p class="hint" id="opens-hint">For public comment. Empty: six weeks before the BPF's annual meeting.</p><input type="datetime-local" id="opens" name="opens" value="{{.Opens}}" aria-describedby="opens-hint"></div>
<div class="form-group"><label for="closes">Comment window closes (UTC)</label><p class="hint" id="closes-hint">Empty: the first day of the annual meeting.</p><input type="datetime-local" id="closes" name="closes" value="{{.Closes}}" aria-describedby="closes-hint"></div>
<div class="form-group checkbox"><input type="checkbox" id="frozen" name="frozen" value="yes"{{if .Workflow.Frozen}} checked{{end}}><label for="frozen">Freeze the live text during public comment (only the Secretariat edits it)</label></div>
{{if eq (print .Stage) "final"}}<div class="form-group"><label for="correction">Publish a correction</label><p class="hint" id="correction-hint">The Secretariat may correct the final output in the editor; the public reads the correction once it is published here, with one line saying what was corrected. Empty: nothing is published.</p><input type="text" id="correction" name="correction" size="60" maxlength="100" aria-describedby="correction-hint"></div>
{{end}}<div class="form-group checkbox"><input type="checkbox" id="public_draft" name="public_draft" value="yes"{{if .Workflow.PublicDraft}} checked{{end}}><label for="public_draft">Let everyone read the live draft</label></div>
<button type="submit" class="button">Save</button>
</form>
<h2 id="title-heading">Title</h2>
<form method="post" action="/d/{{.Doc.ID}}/rename" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="title">Title of the document</label><input type="text" id="title" name="title" value="{{.Doc.Title}}" size="60"></div>
<button type="submit" class="button button-secondary">Rename</button>
</form>
<h2>Sections</h2>
<p>The sections of the template stay in the order the modalities give. Custom sections can be renamed, moved and removed; a removed section's text stays in the document's history.</p>
<table class="data"><thead><tr><th scope="col">#</th><th scope="col">Section</th><th scope="col">Kind</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
{{$id := .Doc.ID}}{{$last := len .Doc.Sections}}{{range $i, $s := .Doc.Sections}}<tr><td>{{inc $i}}</td><td>{{if eq (print $s.Kind) "custom"}}<form method="post" action="/d/{{$id}}/sections/{{$s.ID}}" class="inline-form">{{template "csrf" $csrf}}<label for="title-{{$s.ID}}" class="visually-hidden">Title of section {{inc $i}}</label><input type="text" id="title-{{$s.ID}}" name="title" value="{{$s.Title}}" size="30"> <button type="submit" name="action" value="rename" class="link-button">Rename</button></form>{{else}}{{$s.Title}}{{end}}</td><td>{{$s.Kind}}</td>
<td>{{if eq (print $s.Kind) "custom"}}<form method="post" action="/d/{{$id}}/sections/{{$s.ID}}" class="inline-form">{{template "csrf" $csrf}}{{if $i}}<button type="submit" name="action" value="up" class="link-button" aria-label="Move {{$s.Title}} up">Up</button> {{end}}{{if lt (inc $i) $last}}<button type="submit" name="action" value="down" class="link-button" aria-label="Move {{$s.Title}} down">Down</button> {{end}}<button type="submit" name="action" value="remove" class="link-button" aria-label="Remove {{$s.Title}}">Remove</button></form>{{end}}</td></tr>
{{end}}</tbody></table>
</main>{{end}}{{end}}`)

func (s *Server) settingsFor(d docRequest) *settingsData {
	wf := d.doc.Workflow
	return &settingsData{Doc: d.doc, Stage: wf.StageOf(), Next: wf.StageOf().Next(), Workflow: wf,
		Opens: pageFuncs["datetime"].(func(time.Time) string)(wf.Opens), Closes: pageFuncs["datetime"].(func(time.Time) string)(wf.Closes),
		WindowOpen: wf.WindowOpen(s.now())}
}

func (s *Server) settingsGet(w http.ResponseWriter, r *http.Request, d docRequest) {
	s.page(w, r, http.StatusOK, settingsPage, d.doc.Title, s.settingsFor(d))
}

func (s *Server) settingsPost(w http.ResponseWriter, r *http.Request, d docRequest) {
	frozen, public := r.PostFormValue("frozen") == "yes", r.PostFormValue("public_draft") == "yes"
	req := workflowRequest{Stage: editor.Stage(r.PostFormValue("stage")), Frozen: &frozen, PublicDraft: &public, Correction: r.PostFormValue("correction")}
	var err error
	for _, f := range []struct {
		field string
		to    *time.Time
	}{{"opens", &req.Opens}, {"closes", &req.Closes}} {
		if v := strings.TrimSpace(r.PostFormValue(f.field)); v != "" && err == nil {
			if *f.to, err = time.Parse("2006-01-02T15:04", v); err != nil {
				err = &failure{status: http.StatusBadRequest, code: "invalid", msg: "the " + f.field + " time is a date and time, as YYYY-MM-DDTHH:MM"}
			}
		}
	}
	var doc *editor.Document
	if err == nil {
		doc, err = s.changeWorkflow(r, d, req)
	}
	if err != nil {
		data := s.settingsFor(d)
		data.Error, data.ErrorFor = s.messageOf(r, err), "stage"
		s.page(w, r, statusOf(err), settingsPage, d.doc.Title, data)
		return
	}
	d.doc = doc
	data := s.settingsFor(d)
	data.Done = "Saved: the document is in " + string(data.Stage) + "."
	if strings.TrimSpace(req.Correction) != "" {
		data.Done = "The correction is published."
	}
	s.page(w, r, http.StatusOK, settingsPage, doc.Title, data)
}

type auditData struct {
	Entries []auditRow
	Filter  store.AuditFilter
	Next    string
	CSV     string
}

type auditRow struct {
	store.AuditEntry
	Who string
}

var auditPage = formPage(`{{define "content"}}{{with .Content}}<main class="bpf-doc" id="main">
<p><a href="/dashboard">Dashboard</a></p>
<h1>Audit log</h1>
<p>Who did what and when: sign-ins, invitations, editing sessions, stages, publications. Oldest first.</p>
<form method="get" action="/audit">
<div class="form-group"><label for="action">Action</label><input type="text" id="action" name="action" value="{{.Filter.Action}}" size="20"></div>
<div class="form-group"><label for="doc">Document id</label><input type="text" id="doc" name="doc" value="{{.Filter.Doc}}" size="40"></div>
<button type="submit" class="button button-secondary">Filter</button>
</form>
<p><a href="{{.CSV}}" download>Download as CSV</a></p>
{{if .Entries}}<table class="data"><thead><tr><th scope="col">#</th><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">On</th><th scope="col">Detail</th></tr></thead><tbody>
{{range .Entries}}<tr><td>{{.Seq}}</td><td>{{.Time.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{or .Who "—"}}{{with .Address}}<br><span class="hint">{{.}}</span>{{end}}</td><td>{{.Action}}</td><td>{{with .Doc}}<a href="/d/{{.}}">document</a>{{else}}{{with .BPF}}<a href="/bpfs/{{.}}">BPF</a>{{end}}{{end}}</td><td>{{.Detail}}</td></tr>
{{end}}</tbody></table>{{else}}<p>Nothing recorded{{if or .Filter.Action .Filter.Doc}} that matches{{end}}.</p>{{end}}
{{with .Next}}<p><a href="{{.}}">Next page</a></p>{{end}}
</main>{{end}}{{end}}`)

// auditFilter reads the audit log's filter from a query.
func auditFilter(r *http.Request, limit int) store.AuditFilter {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	return store.AuditFilter{BPF: q.Get("bpf"), Doc: q.Get("doc"), Account: q.Get("account"), Action: q.Get("action"), After: max(0, after), Limit: limit}
}

const auditPageSize = 200

func (s *Server) auditGet(w http.ResponseWriter, r *http.Request) {
	f := auditFilter(r, auditPageSize)
	entries, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		s.log.Error("audit log", "err", err)
		http.Error(w, "the audit log cannot be read right now", http.StatusInternalServerError)
		return
	}
	names := map[string]string{}
	d := &auditData{Filter: f}
	for _, e := range entries {
		d.Entries = append(d.Entries, auditRow{AuditEntry: e, Who: s.accountLabel(r, names, e.Account)})
	}
	q := r.URL.Query()
	q.Del("after")
	d.CSV = "/audit.csv?" + q.Encode()
	if len(entries) == auditPageSize {
		q.Set("after", strconv.FormatInt(entries[len(entries)-1].Seq, 10))
		d.Next = "/audit?" + q.Encode()
	}
	s.page(w, r, http.StatusOK, auditPage, "Audit log", d)
}

// auditCSV is the whole (filtered) audit log as CSV.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request) {
	entries, err := s.store.ListAudit(r.Context(), auditFilter(r, 0))
	if err != nil {
		s.storeError(w, r, "audit log", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="bpfdraft-audit.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "account", "name", "address", "action", "bpf", "doc", "detail"})
	names := map[string]string{}
	for _, e := range entries {
		cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Account, csvSafe(s.accountLabel(r, names, e.Account)),
			e.Address, e.Action, e.BPF, e.Doc, csvSafe(e.Detail)})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// accountLabel names an account for the audit log, remembering names.
func (s *Server) accountLabel(r *http.Request, names map[string]string, id string) string {
	if id == "" {
		return ""
	}
	if n, ok := names[id]; ok {
		return n
	}
	n := id
	if a, err := s.store.GetAccount(r.Context(), id); err == nil {
		n = a.Name + " <" + a.Email + ">"
	}
	names[id] = n
	return n
}

// changeWorkflow sets a document's workflow for the Secretariat (the API
// and the settings page), keeping what it publishes as a version.
func (s *Server) changeWorkflow(r *http.Request, d docRequest, req workflowRequest) (*editor.Document, error) {
	cur := d.doc.Workflow
	wf := editor.Workflow{Stage: cmp.Or(req.Stage, cur.StageOf()), Opens: req.Opens.UTC(), Closes: req.Closes.UTC(),
		Frozen: cur.Frozen && cur.StageOf() == editor.StagePublicComment, PublicDraft: cur.PublicDraft}
	if req.Frozen != nil {
		wf.Frozen = *req.Frozen
	} else if wf.StageOf() != editor.StagePublicComment {
		wf.Frozen = false
	}
	if req.PublicDraft != nil {
		wf.PublicDraft = *req.PublicDraft
	}
	if wf.Opens.IsZero() && wf.Closes.IsZero() {
		wf.Opens, wf.Closes = cur.Opens, cur.Closes
	}
	note := strings.TrimSpace(req.Correction)
	if note != "" {
		if cur.StageOf() != editor.StageFinal || wf.StageOf() != editor.StageFinal {
			return nil, &failure{status: http.StatusBadRequest, code: "invalid", msg: "a correction is published of the final output only"}
		}
		if utf8.RuneCountInString(note) > 100 || strings.ContainsAny(note, "\r\n") {
			return nil, &failure{status: http.StatusBadRequest, code: "invalid", msg: "a correction's note is one line of at most 100 characters"}
		}
		wf.Republish = true
	}
	if wf.StageOf() == editor.StagePublicComment && wf.Opens.IsZero() && wf.Closes.IsZero() {
		if b, err := s.store.GetBPF(r.Context(), d.doc.BPF); err == nil {
			wf.Opens, wf.Closes, _ = editor.DefaultWindow(b)
		}
	}
	if wf.StageOf() == editor.StagePublicComment && wf.Opens.IsZero() {
		return nil, &failure{status: http.StatusBadRequest, code: "invalid", msg: "opening public comment needs a comment window: give its opening and closing times (this document's BPF has no annual meeting date to take them from)"}
	}
	out, err := s.do(r.Context(), d.doc.ID, authority.SetWorkflow{Author: s.authorOf(r, d.role), Workflow: wf, Time: s.now().UTC()})
	if err != nil {
		return nil, err
	}
	if out.Published != nil {
		name := "opened for public comment"
		if out.Published.Workflow.StageOf() == editor.StageFinal {
			name = "final"
		}
		if note != "" {
			name = "correction: " + note
		}
		if err := s.store.PutVersion(r.Context(), out.Published, name, s.now().UTC()); err != nil {
			s.log.Error("keep the published version", "doc", d.doc.ID, "err", err)
			return nil, &failure{status: http.StatusServiceUnavailable, code: CodeUnavailable, msg: "the stage changed, but the published version could not be stored, so the public cannot read it: see the server log and restore the store"}
		}
		s.audit(r.Context(), r, "published", d.doc.BPF, d.doc.ID, fmt.Sprintf("%s, version %d", name, out.Published.Seq))
	}
	doc, err := s.currentDocument(r.Context(), d.doc.ID)
	if err != nil {
		return nil, err
	}
	detail := string(doc.Workflow.StageOf())
	if doc.Workflow.StageOf() == editor.StagePublicComment {
		detail += fmt.Sprintf(", window %s to %s", doc.Workflow.Opens.Format(time.RFC3339), doc.Workflow.Closes.Format(time.RFC3339))
	}
	if doc.Workflow.Frozen {
		detail += ", text frozen"
	}
	if doc.Workflow.PublicDraft {
		detail += ", draft public"
	}
	s.audit(r.Context(), r, "stage", doc.BPF, doc.ID, detail)
	return doc, nil
}

// auditJSON is the audit log for the API, paged by after and limit
// (at most 1000 a page).
func (s *Server) auditJSON(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 1000
	}
	entries, err := s.store.ListAudit(r.Context(), auditFilter(r, limit))
	if err != nil {
		s.storeError(w, r, "audit log", err)
		return
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// settingsRename renames the document from the settings page.
func (s *Server) settingsRename(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc, err := s.restructure(r, d, editor.Structure{Op: editor.OpRenameDocument, Title: r.PostFormValue("title")})
	if err == nil {
		s.audit(r.Context(), r, "document renamed", doc.BPF, doc.ID, doc.Title)
	}
	s.settingsAfter(w, r, d, doc, err, "title", "Renamed.")
}

// settingsSection renames, moves or removes a custom section from the
// settings page.
func (s *Server) settingsSection(w http.ResponseWriter, r *http.Request, d docRequest) {
	id := r.PathValue("section")
	sec := &editor.Section{ID: id}
	i := slices.IndexFunc(d.doc.Sections, func(x editor.Section) bool { return x.ID == id })
	var step editor.Structure
	done := ""
	switch r.PostFormValue("action") {
	case "rename":
		step, done = editor.Structure{Op: editor.OpRenameSection, Section: sec, Title: r.PostFormValue("title")}, "Section renamed."
	case "up", "down":
		to := i - 1
		if r.PostFormValue("action") == "down" {
			to = i + 1
		}
		step, done = editor.Structure{Op: editor.OpMoveSection, Section: sec, Index: &to}, "Section moved."
	case "remove":
		step, done = editor.Structure{Op: editor.OpRemoveSection, Section: sec}, "Section removed; its text stays in the history."
	default:
		s.settingsAfter(w, r, d, nil, &failure{status: http.StatusBadRequest, code: "invalid", msg: "rename, up, down or remove"}, "stage", "")
		return
	}
	doc, err := s.restructure(r, d, step)
	if err == nil && step.Op == editor.OpRemoveSection {
		s.audit(r.Context(), r, "section removed", doc.BPF, doc.ID, id)
	}
	s.settingsAfter(w, r, d, doc, err, "title-"+id, done)
}

// settingsAfter shows the settings page after a form.
func (s *Server) settingsAfter(w http.ResponseWriter, r *http.Request, d docRequest, doc *editor.Document, err error, field, done string) {
	if doc != nil {
		d.doc = doc
	}
	data := s.settingsFor(d)
	status := http.StatusOK
	if err != nil {
		data.Error, data.ErrorFor, status = s.messageOf(r, err), field, statusOf(err)
	} else {
		data.Done = done
	}
	s.page(w, r, status, settingsPage, d.doc.Title, data)
}
