package collab

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/frontend"
)

// Every page the server renders is editor's one layout with a content
// template of its own (editor.PageTemplate): the reading view, the home
// page and the import page.

// pageOptions says what a document page shows besides the document: its
// BPF, the status and date of this version, and, for the live reading
// view only, where the document stands now (wf, its current workflow).
func (s *Server) pageOptions(r *http.Request, doc *editor.Document, wf editor.Workflow, live bool) editor.PageOptions {
	opts := editor.PageOptions{Version: doc.Seq, VersionDate: doc.Updated.UTC(), Publication: !live}
	if doc.BPF != "" {
		if b, err := s.store.GetBPF(r.Context(), doc.BPF); err == nil {
			opts.BPFName, opts.Year = b.Name, b.Year
		}
	}
	phase := editor.PhaseOf(wf, s.now())
	opts.Status = editor.PhaseOf(doc.Workflow, s.now()).Status
	if live {
		opts.Phase = phase.Label
		if phase.Stage == editor.StagePublicComment {
			opts.CommentOpens, opts.CommentCloses = phase.Opens, phase.Closes
		}
	}
	return opts
}

// exportPage is the standalone HTML export: a publication (empty sections
// left out) with nothing in it that goes stale.
func (s *Server) exportPage(r *http.Request, doc, live *editor.Document) []byte {
	opts := s.pageOptions(r, doc, live.Workflow, false)
	opts.Appendix = s.finalAppendix(r, live)
	return s.render.render(doc).Page(opts)
}

// readingView serves the public reading view: plain server-side HTML that
// needs no script, assembled from the render cache.
func (s *Server) readingView(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.pageDocument(w, r)
	if !ok {
		return
	}
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	if err != nil {
		s.log.Error("role for a page", "doc", doc.ID, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	// The team reads the live draft (unless it asks for the published
	// version); the public reads what is published.
	c := authority.ContextOf(doc, s.now())
	wf, liveDoc := doc.Workflow, doc
	live := access.Check(role, access.ReadDraft, c) == nil && r.URL.Query().Get("version") != "published"
	if !live {
		if access.Check(role, access.ReadPublished, c) != nil {
			http.Error(w, "This document is not published yet.", http.StatusNotFound)
			return
		}
		published, err := s.publishedDocument(r, doc)
		if err != nil {
			s.log.Error("read the published version", "doc", doc.ID, "err", err)
			http.Error(w, "The published version of this document cannot be read.", http.StatusInternalServerError)
			return
		}
		doc = published
	}
	rd := s.render.render(doc)
	opts := s.pageOptions(r, doc, wf, true)
	opts.Annotate, opts.Counts = s.readingComments(r, liveDoc, doc, role)
	opts.Appendix = s.finalAppendix(r, liveDoc)
	if liveDoc.Workflow.Published > 0 {
		opts.Links = []editor.PageLink{{Label: "What changed since the draft for public comment", URL: "/d/" + liveDoc.ID + "/changes"},
			{Label: "What was done with each comment", URL: "/d/" + liveDoc.ID + "/disposition"}}
	}
	l := s.layout(r, "", rd.View(opts))
	l.Title = rd.PageTitle(opts)
	l.Scripts = []string{"/assets/time.js", frontend.AssetURL(frontend.ReadingScript)}
	s.writePage(w, editor.DocumentTemplate(), l)
}

var homePage = formPage(`{{define "content"}}{{with .Content}}<main class="bpf-doc" id="main">
<h1>bpfdraft</h1>
<p>Documents of IGF Best Practice Forums, written in the open.</p>
<h2>Published</h2>
{{if .Published}}<ul>{{range .Published}}<li><a href="/d/{{.ID}}">{{.Title}}</a> — {{if eq (print .Stage) "public-comment"}}open for public comment{{else if eq (print .Stage) "final"}}final{{else}}{{.Stage}}{{end}}</li>{{end}}</ul>{{else}}<p>Nothing is published yet.</p>{{end}}
{{with .Drafts}}<h2>Drafts you work on</h2>
<ul>{{range .}}{{if .Broken}}<li>{{or .Title .ID}} — this document cannot be read: {{.Broken}}</li>{{else}}<li><a href="/d/{{.ID}}">{{.Title}}</a> ({{.Stage}}) — <a href="/edit/{{.ID}}" aria-label="Edit {{.Title}}">edit</a></li>{{end}}{{end}}</ul>{{end}}
{{if .Secretariat}}<p><a href="/dashboard">Go to the dashboard</a> to create BPFs and documents, invite teams and open documents for comment.</p>{{end}}
</main>{{end}}{{end}}`)

// homeData is the home page: what is published, for everyone; the
// drafts the person may work on, for a team.
type homeData struct {
	Published, Drafts []docListing
	Secretariat       bool
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	list, err := s.visibleDocuments(r, "")
	if err != nil {
		s.log.Error("list documents", "err", err)
		http.Error(w, "documents could not be listed", http.StatusInternalServerError)
		return
	}
	wh := whoOf(r)
	d := homeData{Secretariat: wh.signedIn() && wh.account.Secretariat}
	for _, l := range list {
		switch {
		case l.Broken == "" && l.Stage != editor.StageDrafting && l.Published:
			d.Published = append(d.Published, l)
		case l.Broken != "" || l.Editable:
			d.Drafts = append(d.Drafts, l)
		}
	}
	s.page(w, r, http.StatusOK, homePage, "Home", d)
}

// writePage executes a page into a buffer first, so a template error is a
// clean 500 and never half a page.
func (s *Server) writePage(w http.ResponseWriter, t *template.Template, l editor.Layout) {
	s.writePageStatus(w, http.StatusOK, t, l)
}

func (s *Server) writePageStatus(w http.ResponseWriter, status int, t *template.Template, l editor.Layout) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, l); err != nil {
		s.log.Error("page template", "err", err)
		http.Error(w, "this page could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// editView serves the editing app's page for a document; the app itself
// comes from /static and talks to the websocket.
func (s *Server) editView(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc := d.doc
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := frontend.PageData{DocID: doc.ID, Title: doc.Title, ReadOnly: access.Check(d.role, access.EditText, d.ctx) != nil}
	if wh := whoOf(r); wh.session != nil {
		data.CSRF, data.UserName = wh.session.CSRF, wh.account.Name
	}
	if err := frontend.EditorPage(w, data); err != nil {
		s.log.Warn("editor page", "doc", doc.ID, "err", err)
	}
}

// pageDocument loads the document of a page request, answering a plain
// error page itself when it cannot.
func (s *Server) pageDocument(w http.ResponseWriter, r *http.Request) (*editor.Document, bool) {
	doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
	if err == nil {
		return doc, true
	}
	if r.Context().Err() == nil {
		status := http.StatusInternalServerError
		if errors.Is(err, store.ErrNotFound) {
			status = http.StatusNotFound
		} else {
			s.log.Error("load document for a page", "doc", r.PathValue("id"), "err", err)
		}
		http.Error(w, http.StatusText(status), status)
	}
	return nil, false
}
