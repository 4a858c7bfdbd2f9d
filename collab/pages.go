package collab

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/frontend"
)

// page renders the standalone HTML page of a document.
func (s *Server) page(r *http.Request, doc *editor.Document) ([]byte, error) {
	now := s.now().UTC()
	opts := editor.PageOptions{Generated: now}
	var bpf *editor.BPF
	if doc.BPF != "" {
		if b, err := s.store.GetBPF(r.Context(), doc.BPF); err == nil {
			bpf = b
			opts.BPFName, opts.Year = b.Name, b.Year
		}
	}
	opts.Phase = editor.PhaseAt(bpf, now).Label
	return editor.RenderPage(doc, opts)
}

// readingView serves the public reading view: plain server-side HTML that
// needs no script.
func (s *Server) readingView(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.pageDocument(w, r)
	if !ok {
		return
	}
	page, err := s.page(r, doc)
	if err != nil {
		s.log.Error("render page", "doc", doc.ID, "err", err)
		http.Error(w, "this document could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

var homeTmpl = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bpfdraft</title>
<link rel="stylesheet" href="/assets/page.css">
</head><body><main class="bpf-doc">
<h1>bpfdraft</h1>
<p>Documents of IGF Best Practice Forums, written in the open.</p>
{{if .}}<ul>{{range .}}{{if .Broken}}<li>{{or .Title .ID}} — this document cannot be read: {{.Broken}}</li>{{else}}<li><a href="/d/{{.ID}}">{{.Title}}</a> — <a href="/edit/{{.ID}}" aria-label="Edit {{.Title}}">edit</a></li>{{end}}{{end}}</ul>{{else}}<p>No documents yet. Create one with <code>POST /api/documents</code> or <code>bpfdraft import</code>.</p>{{end}}
</main></body></html>
`))

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListDocuments(r.Context(), "")
	if err != nil {
		s.log.Error("list documents", "err", err)
		http.Error(w, "documents could not be listed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := homeTmpl.Execute(w, list); err != nil {
		s.log.Warn("home page", "err", fmt.Sprint(err))
	}
}

// editView serves the editing app's page for a document; the app itself
// comes from /static and talks to the websocket.
func (s *Server) editView(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.pageDocument(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := frontend.EditorPage(w, frontend.PageData{DocID: doc.ID, Title: doc.Title}); err != nil {
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
