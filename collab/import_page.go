package collab

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/bpfdraft/bpfdraft/editor"
)

// The import page lets a person bring a draft written elsewhere: upload or
// paste the Markdown, see its outline beside the template's with the
// proposed place of every heading, reassign any heading, and only then
// store the document. It is plain HTML forms, after the GOV.UK Design
// System's patterns (one question a block, an error summary at the top);
// a small script only resubmits the preview when a choice changes.

//go:embed assets/import.js
var importScript string

// importForm is what the import page shows and carries between steps.
type importForm struct {
	Templates []*editor.Template
	BPFs      []*editor.BPF
	Template  string
	Title     string
	BPF       string
	Source    string
	// Previewed is true once a mapping has been proposed.
	Previewed bool
	Headings  []importHeading
	Sections  []importSection
	Report    editor.ImportReport
	Choices   []importChoice
	Error     string
	ErrorFor  string // id of the field the error is about
}

type importHeading struct {
	editor.ImportMapping
	Indent int
}

type importChoice struct{ Value, Label string }

type importSection struct {
	Number   int
	Title    string
	Kind     editor.SectionKind
	Headings []string
	Blocks   int
}

const importContent = `{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="import">
<p><a href="/">bpfdraft</a></p>
{{if .Error}}<div class="error-summary" role="alert" aria-labelledby="error-title" tabindex="-1">
<h2 id="error-title">There is a problem</h2>
<p><a href="#{{.ErrorFor}}">{{.Error}}</a></p>
</div>
{{end}}<h1>Import a draft</h1>
<p>Bring a draft written in Google Docs, HedgeDoc, Etherpad or any editor that saves Markdown. You will see where each of its headings goes before anything is stored.</p>
<form method="post" action="/import" enctype="multipart/form-data" novalidate>
{{with $csrf}}<input type="hidden" name="csrf" value="{{.}}">{{end}}
<div class="form-group">
<label for="template">Template</label>
<select id="template" name="template">{{$t := .Template}}{{range .Templates}}<option value="{{.Name}}"{{if eq .Name $t}} selected{{end}}>{{.Title}}</option>{{end}}</select>
<input type="hidden" name="previous-template" value="{{.Template}}">
</div>
<div class="form-group">
<label for="title">Document title</label>
<p class="hint" id="title-hint">Leave empty to use the draft's own title heading.</p>
<input type="text" id="title" name="title" value="{{.Title}}" aria-describedby="title-hint" maxlength="300" size="60">
</div>
{{if .BPFs}}<div class="form-group">
<label for="bpf">Best Practice Forum</label>
<select id="bpf" name="bpf"><option value="">None</option>{{$b := .BPF}}{{range .BPFs}}<option value="{{.ID}}"{{if eq .ID $b}} selected{{end}}>{{.Name}} {{.Year}}</option>{{end}}</select>
</div>
{{end}}<div class="form-group">
<label for="file">Markdown file</label>
<p class="hint" id="file-hint">A .md file of at most {{importLimit}}. Or paste the draft below.</p>
{{if eq .ErrorFor "file"}}<p class="error-message">{{.Error}}</p>{{end}}
<input type="file" id="file" name="file" accept=".md,.markdown,.txt,text/markdown,text/plain" aria-describedby="file-hint">
</div>
<details class="form-group"{{if not .Previewed}} open{{end}}>
<summary>{{if .Previewed}}See or change the draft's text{{else}}Paste the draft instead{{end}}</summary>
<label for="source">Draft (Markdown)</label>
<textarea id="source" name="source" rows="12" spellcheck="false">{{.Source}}</textarea>
</details>
{{if .Previewed}}
<h2>Where each heading goes</h2>
<p>Choose a template section, a new section of its own, or to keep the heading as a sub-heading of the section it falls in. Text under a heading goes with it; nothing of the draft is left out.</p>
<div class="outline-side">
<table class="mapping">
<caption class="hint">Your draft's headings, with the proposed place of each</caption>
<thead><tr><th scope="col">Line</th><th scope="col">Heading</th><th scope="col">Goes to</th></tr></thead>
<tbody>
{{range .Headings}}{{$h := .}}<tr>
<td class="level">{{.Line}}</td>
<td><label for="assign-{{.Line}}">{{range $i := indent .Indent}}&#8195;{{end}}{{.Heading}}</label>{{if .Why}}<br><span class="hint">{{.Why}}</span>{{end}}</td>
<td><select id="assign-{{.Line}}" name="assign-{{.Line}}">{{range $.Content.Choices}}<option value="{{.Value}}"{{if eq .Value $h.Target}} selected{{end}}>{{.Label}}</option>{{end}}</select></td>
</tr>
{{else}}<tr><td colspan="3">The draft has no headings: its text will open the first section.</td></tr>
{{end}}</tbody>
</table>
<h2>The document it makes</h2>
<ol class="outline">
{{range .Sections}}<li value="{{.Number}}">{{.Title}} <span class="tag">{{.Kind}}</span>{{if .Headings}}<br><span class="hint">from {{join .Headings}}</span>{{end}}{{if .Blocks}} <span class="hint">({{.Blocks}} block{{if ne .Blocks 1}}s{{end}})</span>{{else}} <span class="hint">(no text)</span>{{end}}</li>
{{end}}</ol>
<p>{{len .Report.Blocks}} blocks of the draft, every one placed.{{if .Report.Title}} Title: <strong>{{.Report.Title}}</strong>.{{end}}</p>
{{if .Report.Notes}}<ul>{{range .Report.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</div>
<button class="button button-secondary" type="submit" name="action" value="preview">Update the preview</button>
<button class="button" type="submit" name="action" value="import">Import</button>
{{else}}
<button class="button" type="submit" name="action" value="preview">Show where each heading goes</button>
{{end}}
</form>
</main>{{end}}{{end}}`

var importFuncs = template.FuncMap{
	"indent":      func(n int) []int { return make([]int, max(n, 0)) },
	"join":        func(s []string) string { return strings.Join(s, "; ") },
	"importLimit": func() string { return fmt.Sprintf("%d MiB", editor.Limits.ImportBytes>>20) },
}

var importPageTemplate = template.Must(editor.PageTemplate(importContent, importFuncs))

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	f := s.newImportForm(r)
	f.Template = "bpf-output"
	s.writeImportPage(w, r, http.StatusOK, f)
}

func (s *Server) newImportForm(r *http.Request) *importForm {
	f := &importForm{Templates: editor.Templates()}
	if list, err := s.store.ListBPFs(r.Context()); err == nil {
		f.BPFs = list
	}
	return f
}

func (s *Server) writeImportPage(w http.ResponseWriter, r *http.Request, status int, f *importForm) {
	w.Header().Set("Cache-Control", "no-store")
	l := s.layout(r, "Import a draft", f)
	l.Scripts = []string{"/assets/import.js"}
	s.writePageStatus(w, status, importPageTemplate, l)
}

// importPost previews the mapping of a draft or imports it.
func (s *Server) importPost(w http.ResponseWriter, r *http.Request) {
	f := s.newImportForm(r)
	r.Body = http.MaxBytesReader(w, r.Body, s.formBytes())
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			f.Error, f.ErrorFor = fmt.Sprintf("The draft is over the import size limit of %d bytes", s.cfg.MaxImportBytes), "file"
			s.writeImportPage(w, r, http.StatusRequestEntityTooLarge, f)
			return
		}
		f.Error, f.ErrorFor = "The form could not be read: send it again", "file"
		s.writeImportPage(w, r, http.StatusBadRequest, f)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f.Template = r.FormValue("template")
	f.Title = r.FormValue("title")
	f.BPF = r.FormValue("bpf")
	f.Source = editor.NormalizeText(r.FormValue("source"))
	if file, _, err := r.FormFile("file"); err == nil {
		data, err := io.ReadAll(io.LimitReader(file, s.cfg.MaxImportBytes+1))
		file.Close()
		if err == nil && len(data) > 0 {
			f.Source = editor.NormalizeText(string(data))
		}
	}
	tmpl, err := editor.LookupTemplate(f.Template)
	if err != nil {
		f.Template = "bpf-output"
		f.Error, f.ErrorFor = "Choose a template", "template"
		s.writeImportPage(w, r, http.StatusBadRequest, f)
		return
	}
	if f.BPF != "" {
		if _, err := s.store.GetBPF(r.Context(), f.BPF); err != nil {
			f.Error, f.ErrorFor = "Choose a Best Practice Forum from the list", "bpf"
			s.writeImportPage(w, r, http.StatusBadRequest, f)
			return
		}
	}
	if strings.TrimSpace(f.Source) == "" {
		f.Error, f.ErrorFor = "Choose a Markdown file or paste the draft", "file"
		s.writeImportPage(w, r, http.StatusBadRequest, f)
		return
	}
	opts := editor.ImportOptions{Title: f.Title, Assign: map[int]string{}}
	if r.FormValue("previous-template") == f.Template {
		for key, vals := range r.MultipartForm.Value {
			if line, ok := strings.CutPrefix(key, "assign-"); ok && len(vals) == 1 {
				if n, err := strconv.Atoi(line); err == nil {
					opts.Assign[n] = vals[0]
				}
			}
		}
	}
	doc, rep, err := editor.ImportMarkdown(f.Source, tmpl, s.newID(), opts, s.now().UTC())
	if err != nil && len(opts.Assign) > 0 && errors.Is(err, editor.ErrInvalid) && !errors.Is(err, editor.ErrLimit) {
		// The text changed under the choices (lines moved): propose afresh.
		opts.Assign = nil
		doc, rep, err = editor.ImportMarkdown(f.Source, tmpl, s.newID(), opts, s.now().UTC())
	}
	if err != nil {
		status := http.StatusBadRequest
		var limit *editor.LimitError
		if errors.As(err, &limit) {
			status = http.StatusUnprocessableEntity
			if limit.TooLarge {
				status = http.StatusRequestEntityTooLarge
			}
		}
		f.Error, f.ErrorFor = capitalize(strings.TrimPrefix(err.Error(), "invalid: ")), "file"
		if limit != nil && limit.Limit == "title length" {
			f.ErrorFor = "title"
		}
		s.writeImportPage(w, r, status, f)
		return
	}
	if r.FormValue("action") == "import" {
		doc.BPF = f.BPF
		if err := s.allowCreation(r); err != nil {
			f.Error, f.ErrorFor = s.messageOf(r, err), "file"
			s.writeImportPage(w, r, statusOf(err), f)
			return
		}
		if err := s.store.CreateDocument(r.Context(), doc); err != nil {
			s.log.Error("import page: store", "err", err)
			f.Error, f.ErrorFor = "The document could not be stored; try again", "file"
			s.writeImportPage(w, r, http.StatusInternalServerError, f)
			return
		}
		s.log.Info("document imported", "doc", doc.ID, "template", doc.Template, "bytes", len(f.Source), "via", "import page")
		s.audit(r.Context(), r, "document imported", doc.BPF, doc.ID, doc.Title)
		http.Redirect(w, r, "/edit/"+doc.ID, http.StatusSeeOther)
		return
	}
	f.fill(tmpl, doc, rep)
	s.writeImportPage(w, r, http.StatusOK, f)
}

// fill puts a proposed (or chosen) mapping on the page.
func (f *importForm) fill(tmpl *editor.Template, doc *editor.Document, rep editor.ImportReport) {
	f.Previewed = true
	f.Report = rep
	top := 7
	for _, m := range rep.Mappings {
		top = min(top, m.Level)
	}
	for _, m := range rep.Mappings {
		f.Headings = append(f.Headings, importHeading{ImportMapping: m, Indent: m.Level - top})
	}
	for i, ts := range tmpl.Sections {
		f.Choices = append(f.Choices, importChoice{ts.Key, fmt.Sprintf("%d. %s", i+1, ts.Title)})
	}
	f.Choices = append(f.Choices,
		importChoice{editor.AssignCustom, "A new section of its own"},
		importChoice{editor.AssignSub, "Keep as a sub-heading"},
		importChoice{editor.AssignTitle, "The document's title"})
	blocks := map[string]int{}
	for _, b := range rep.Blocks {
		if b.As == "text" {
			blocks[b.SectionID]++
		}
	}
	for i, s := range doc.Sections {
		sec := importSection{Number: i + 1, Title: s.Title, Kind: s.Kind, Blocks: blocks[s.ID]}
		for _, m := range rep.Mappings {
			if m.SectionID == s.ID && m.Target != editor.AssignSub {
				sec.Headings = append(sec.Headings, fmt.Sprintf("line %d %q", m.Line, m.Heading))
			}
		}
		f.Sections = append(f.Sections, sec)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
