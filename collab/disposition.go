package collab

import (
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
)

// The disposition report: every comment, per section, with its author as
// they agreed to be named, the words it was about, what was done with it
// and the public response; counts by disposition and by stakeholder
// group. The Secretariat decides each disposition there (the team
// proposes), and sees how many are left to decide.

// dispositionRow is one comment of the report.
type dispositionRow struct {
	ID, Quote, Text   string
	From              string
	Group             string
	Disposition       string
	Label             string
	Response          string
	Proposed, Decided bool
	Status            string
}

type dispositionSection struct {
	Number int
	Title  string
	Rows   []dispositionRow
	Left   int
}

type countRow struct {
	Label string
	N     int
}

type dispositionData struct {
	formError
	Doc           *editor.Document
	Sections      []dispositionSection
	ByDisposition []countRow
	ByGroup       []countRow
	Total, Left   int
	Decide        bool // the person may decide or propose
	Secretariat   bool
	Dispositions  []countRow // the choices, as {value in Label, ""}
}

// authorLabel is how the report names a comment's author: the team by
// name; the public with name, affiliation, stakeholder group and country
// when they agreed to be named, else as an anonymous contributor.
func (s *Server) authorLabel(r *http.Request, c *comments.Comment, bpf string) (label, group string) {
	acct, err := s.store.GetAccount(r.Context(), c.Author)
	if err != nil {
		return "Anonymous contributor", ""
	}
	role, _ := s.roleFor(r.Context(), who{account: acct}, bpf)
	if role != access.Public {
		return acct.Name + " (" + strings.ReplaceAll(string(role), "-", " ") + ")", "the BPF's team"
	}
	if !acct.NamedInReport {
		return "Anonymous contributor", acct.StakeholderGroup
	}
	parts := []string{acct.Name}
	for _, p := range []string{acct.Affiliation, acct.StakeholderGroup, acct.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", "), acct.StakeholderGroup
}

// disposition gathers the report of a document for the person.
func (s *Server) disposition(r *http.Request, doc *editor.Document) (*dispositionData, error) {
	list, err := s.documentComments(r, doc.ID)
	if err != nil {
		return nil, err
	}
	wh := whoOf(r)
	role, err := s.roleFor(r.Context(), wh, doc.BPF)
	if err != nil {
		return nil, err
	}
	c := authority.ContextOf(doc, s.now())
	d := &dispositionData{Doc: doc, Decide: wh.signedIn() && access.Check(role, access.ProposeDecision, c) == nil,
		Secretariat: wh.signedIn() && access.Check(role, access.Decide, c) == nil}
	for _, x := range comments.Dispositions {
		d.Dispositions = append(d.Dispositions, countRow{Label: x})
	}
	bySection := map[string]*dispositionSection{}
	order := []string{}
	section := func(id string) *dispositionSection {
		if ds, ok := bySection[id]; ok {
			return ds
		}
		ds := &dispositionSection{Title: "The whole document"}
		if sec := doc.Section(id); sec != nil {
			ds.Number, ds.Title = doc.Number(id), sec.Title
		} else if id != "" {
			ds.Title = "A section since removed"
		}
		bySection[id] = ds
		order = append(order, id)
		return ds
	}
	dispCount, groupCount := map[string]int{}, map[string]int{}
	team := d.Decide
	for _, v := range list {
		if v.Parent != "" || v.Hidden || v.Withdrawn {
			continue // replies are discussion; what was taken back is not in the record
		}
		row := dispositionRow{ID: v.ID, Text: v.Text, Status: commentStatus(v)}
		row.From, row.Group = s.authorLabel(r, v.Comment, doc.BPF)
		if a := v.Current; a != nil && a.Quote != nil {
			row.Quote = a.Quote.Exact
		}
		if v.Disposition != "" && (!v.Proposed || team) {
			row.Disposition, row.Response, row.Proposed = v.Disposition, v.Response, v.Proposed
		}
		row.Decided = v.Disposition != "" && !v.Proposed
		row.Label = comments.DispositionLabel(row.Disposition)
		if row.Proposed {
			row.Label = "Proposed: " + row.Label
		}
		sec := ""
		if v.Current != nil {
			sec = v.Current.Section
		}
		ds := section(sec)
		ds.Rows = append(ds.Rows, row)
		d.Total++
		if row.Decided {
			dispCount[comments.DispositionLabel(v.Disposition)]++
		} else {
			ds.Left++
			d.Left++
			dispCount["Not decided yet"]++
		}
		groupCount[cmpOr(row.Group, "not said")]++
	}
	slices.SortStableFunc(order, func(a, b string) int { return bySection[a].Number - bySection[b].Number })
	for _, id := range order {
		d.Sections = append(d.Sections, *bySection[id])
	}
	for _, x := range append(slices.Clone(comments.Dispositions), "") {
		if n := dispCount[comments.DispositionLabel(x)]; n > 0 {
			d.ByDisposition = append(d.ByDisposition, countRow{comments.DispositionLabel(x), n})
		}
	}
	for _, g := range append(slices.Clone(StakeholderGroups), "the BPF's team", "not said") {
		if n := groupCount[g]; n > 0 {
			d.ByGroup = append(d.ByGroup, countRow{g, n})
		}
	}
	return d, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var dispositionPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<p><a href="/d/{{.Doc.ID}}">{{.Doc.Title}}</a></p>
<h1>What was done with each comment</h1>
<p>Every comment on the document, by section, with its author as they agreed to be named, what was decided and the answer. <a href="/d/{{.Doc.ID}}/disposition.csv" download>Download as CSV</a>.</p>
{{if .Decide}}<p class="inset"><strong>{{.Left}} of {{.Total}}</strong> comments are left to decide.</p>{{end}}
<h2>In numbers</h2>
<table class="data"><caption class="visually-hidden">Comments by disposition</caption><thead><tr><th scope="col">Disposition</th><th scope="col">Comments</th></tr></thead><tbody>
{{range .ByDisposition}}<tr><td>{{.Label}}</td><td>{{.N}}</td></tr>{{end}}</tbody></table>
<table class="data"><caption class="visually-hidden">Comments by stakeholder group</caption><thead><tr><th scope="col">Stakeholder group</th><th scope="col">Comments</th></tr></thead><tbody>
{{range .ByGroup}}<tr><td>{{.Label}}</td><td>{{.N}}</td></tr>{{end}}</tbody></table>
{{$decide := .Decide}}{{$doc := .Doc.ID}}{{$choices := .Dispositions}}
{{range .Sections}}<h2>{{if .Number}}{{.Number}}. {{end}}{{.Title}}{{if $decide}} <span class="tag">{{.Left}} left</span>{{end}}</h2>
{{range .Rows}}<div class="disposition" id="comment-{{.ID}}">
<p class="comment-meta"><strong>{{.From}}</strong></p>
{{with .Quote}}<p class="comment-quote">On the words <q>{{.}}</q></p>{{end}}
<blockquote class="comment-context">{{.Text}}</blockquote>
<p><strong>{{.Label}}</strong>{{with .Response}}: {{.}}{{end}}</p>
{{if $decide}}<form method="post" action="/d/{{$doc}}/disposition/{{.ID}}" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="disposition-{{.ID}}">Disposition</label><select id="disposition-{{.ID}}" name="disposition">{{$cur := .Disposition}}{{range $choices}}<option value="{{.Label}}"{{if eq .Label $cur}} selected{{end}}>{{dispositionLabel .Label}}</option>{{end}}</select></div>
<div class="form-group"><label for="response-{{.ID}}">Public response</label><textarea id="response-{{.ID}}" name="response" rows="3">{{.Response}}</textarea></div>
<button type="submit" class="button button-secondary">Save</button>
</form>{{end}}
</div>
{{end}}{{else}}<p>No comments.</p>{{end}}
</main>{{end}}{{end}}`)

func (s *Server) dispositionGet(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.readablePage(w, r)
	if !ok {
		return
	}
	d, err := s.disposition(r, doc)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	s.page(w, r, http.StatusOK, dispositionPage, "Disposition of comments", d)
}

// readablePage loads the document of a page and checks that the person
// may read it, answering a not-found page otherwise.
func (s *Server) readablePage(w http.ResponseWriter, r *http.Request) (*editor.Document, bool) {
	doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
	if err != nil || !s.readable(r.Context(), whoOf(r), doc) {
		s.notFound(w, r, "no such document")
		return nil, false
	}
	return doc, true
}

// dispositionPost records a disposition from the report's form.
func (s *Server) dispositionPost(w http.ResponseWriter, r *http.Request, d docRequest) {
	id := r.PathValue("comment")
	_, err := s.do(r.Context(), d.doc.ID, authority.ChangeComment{Author: s.authorOf(r, d.role), ID: id, Op: authority.CommentDispose,
		Disposition: r.PostFormValue("disposition"), Text: r.PostFormValue("response"), Time: s.now().UTC()})
	if err != nil {
		data, derr := s.disposition(r, d.doc)
		if derr != nil {
			s.storeError(w, r, "document", derr)
			return
		}
		data.Error, data.ErrorFor = s.messageOf(r, err), "response-"+id
		s.page(w, r, statusOf(err), dispositionPage, "Disposition of comments", data)
		return
	}
	s.audit(r.Context(), r, "comment dispose", d.doc.BPF, d.doc.ID, id+" "+r.PostFormValue("disposition"))
	http.Redirect(w, r, "/d/"+url.PathEscape(d.doc.ID)+"/disposition#comment-"+id, http.StatusSeeOther)
}

// dispositionCSV is the report as CSV, a row per comment.
func (s *Server) dispositionCSV(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.readablePage(w, r)
	if !ok {
		return
	}
	d, err := s.disposition(r, doc)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="disposition.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "section_title", "comment", "from", "stakeholder_group", "quote", "text", "disposition", "response"})
	for _, sec := range d.Sections {
		for _, row := range sec.Rows {
			disp := row.Disposition
			if !row.Decided {
				disp = ""
			}
			cw.Write([]string{strconv.Itoa(sec.Number), csvSafe(sec.Title), row.ID, csvSafe(row.From), row.Group, csvSafe(row.Quote), csvSafe(row.Text), disp, csvSafe(row.Response)})
		}
	}
	cw.Flush()
}

var appendixTemplate = template.Must(template.New("appendix").Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).Parse(`<section class="doc-annex" aria-labelledby="contributors-title">
<h2 id="contributors-title">Contributors</h2>
{{if .Team}}<p><strong>The team:</strong> {{range $i, $n := .Team}}{{if $i}}, {{end}}{{$n}}{{end}}.</p>{{end}}
{{if .Commenters}}<p><strong>Comments from:</strong> {{range $i, $n := .Commenters}}{{if $i}}; {{end}}{{$n}}{{end}}{{if .Anonymous}}; and contributors who asked not to be named ({{.Anonymous}} {{if eq .Anonymous 1}}comment{{else}}comments{{end}}){{end}}.</p>{{else if .Anonymous}}<p>Comments from contributors who asked not to be named ({{.Anonymous}} {{if eq .Anonymous 1}}comment{{else}}comments{{end}}).</p>{{end}}
</section>
<section class="doc-annex" aria-labelledby="annex-title">
<h2 id="annex-title">Annex: what was done with each comment</h2>
{{with .Report}}<p>{{.Total}} comments. {{range $i, $c := .ByDisposition}}{{if $i}}; {{end}}{{$c.Label}}: {{$c.N}}{{end}}. By stakeholder group: {{range $i, $c := .ByGroup}}{{if $i}}; {{end}}{{$c.Label}}: {{$c.N}}{{end}}.</p>
{{range .Sections}}<h3>{{if .Number}}{{.Number}}. {{end}}{{.Title}}</h3>
<table class="data"><thead><tr><th scope="col">From</th><th scope="col">Comment</th><th scope="col">Disposition</th><th scope="col">Response</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.From}}</td><td>{{with .Quote}}On <q>{{.}}</q>: {{end}}{{.Text}}</td><td>{{.Label}}</td><td>{{.Response}}</td></tr>
{{end}}</tbody></table>
{{end}}{{end}}</section>
`))

// finalAppendix is what the final output carries after its text: its
// contributors (the BPF's team; the commenters who agreed to be named)
// and, as an annex, what was done with each comment; "" before final.
func (s *Server) finalAppendix(r *http.Request, doc *editor.Document) string {
	if doc.Workflow.StageOf() != editor.StageFinal {
		return ""
	}
	// The public record: as anyone sees it (decided dispositions only).
	pub := r.WithContext(withWho(r, nil))
	report, err := s.disposition(pub, doc)
	if err != nil {
		s.log.Warn("the final output's annex", "doc", doc.ID, "err", err)
		return ""
	}
	data := struct {
		Team, Commenters []string
		Anonymous        int
		Report           *dispositionData
	}{Report: report}
	if doc.BPF != "" {
		if ms, err := s.members(r.Context(), doc.BPF); err == nil {
			for _, m := range ms {
				data.Team = append(data.Team, m.Name)
			}
		}
	}
	seen := map[string]bool{}
	for _, sec := range report.Sections {
		for _, row := range sec.Rows {
			if seen[row.From] || row.Group == "the BPF's team" {
				continue
			}
			seen[row.From] = true
			if row.From == "Anonymous contributor" {
				data.Anonymous++
				delete(seen, row.From)
			} else {
				data.Commenters = append(data.Commenters, row.From)
			}
		}
	}
	var b strings.Builder
	if err := appendixTemplate.Execute(&b, data); err != nil {
		s.log.Warn("the final output's annex", "doc", doc.ID, "err", err)
		return ""
	}
	return b.String()
}
