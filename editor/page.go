package editor

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// PageCSS is the stylesheet of every page: a readable measure, numbered
// sections, paragraph numbers in the margin, the forms of the server's own
// pages and the print rules that make the reading view and the HTML export
// a publication. Its rules are scoped to the .bpf-doc class.
//
//go:embed assets/page.css
var PageCSS string

// PageStyleHash is the Content-Security-Policy source ("sha256-...") that
// allows the inline style element of standalone pages (RenderPage) and
// nothing else, so a page can be served with style-src limited to it.
var PageStyleHash = styleHash(pageStyle)

// pageStyle is the exact text of a standalone page's style element, which
// the hash covers.
var pageStyle = "\n" + PageCSS

func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

//go:embed assets/layout.html
var layoutHTML string

// layout is the one page layout of bpfdraft: every page the server renders
// (the home page, the import page, the reading view) and the standalone
// HTML export are this layout with a "content" template of their own.
var layout = template.Must(template.New("layout").Parse(layoutHTML))

// PageTemplate returns the layout with the given content: the text must
// define a template named "content", executed with the Layout's Content,
// and may use funcs. It is how the server builds its pages.
func PageTemplate(content string, funcs template.FuncMap) (*template.Template, error) {
	t, err := layout.Clone()
	if err != nil {
		return nil, err
	}
	return t.Funcs(funcs).Parse(content)
}

// Layout is what the layout needs besides a page's content.
type Layout struct {
	// Lang is the page's language tag; "en" when empty or invalid.
	Lang string
	// Title is the text of the title element.
	Title string
	// Inline puts the stylesheet inside the page (standalone files) instead
	// of linking /assets/page.css.
	Inline bool
	// Stylesheet is the URL of the page's stylesheet when not Inline;
	// /assets/page.css when empty.
	Stylesheet string
	// Scripts are script URLs loaded with defer (progressive enhancement;
	// the pages work without them); Modules are module scripts (the
	// editing app).
	Scripts, Modules []string
	// DocID, UserName and CSRF, when set, are the body's data-doc,
	// data-user-name and data-csrf, which the editing app reads (data-csrf
	// is the token its state-changing requests send as X-CSRF-Token).
	DocID, UserName, CSRF string
	// Nav, when set, is the site's header of the server's pages (not of
	// exported documents).
	Nav *Nav
	// Content is the data of the page's content template.
	Content any
}

// Nav is the site's header: who is signed in (Name; empty for nobody)
// and the links of their role. CSRF is the session's token, which the
// sign-out form carries.
type Nav struct {
	Name        string
	Secretariat bool
	CSRF        string
}

// StylesheetURL is the stylesheet to link, for the layout.
func (l Layout) StylesheetURL() string {
	if l.Stylesheet == "" {
		return "/assets/page.css"
	}
	return l.Stylesheet
}

// Style is the inline stylesheet, for the layout.
func (l Layout) Style() template.CSS { return template.CSS(pageStyle) }

// Language is the page's language tag.
func (l Layout) Language() string {
	if l.Lang == "" || !validParaID(l.Lang) {
		return "en"
	}
	return l.Lang
}

// PageOptions is what a document page shows besides the document. Every
// field is optional.
type PageOptions struct {
	// BPFName and Year name the Best Practice Forum above the title.
	BPFName string
	Year    int
	// Status is the state of this version ("Draft for public comment"),
	// shown on the title page. Version and VersionDate say which version:
	// the document's update count and the day of its last change. A zero
	// VersionDate shows no date. The caller passes them: rendering reads
	// no clock, and nothing on the page goes stale once it is saved.
	Status      string
	Version     int64
	VersionDate time.Time
	// Phase, when set, is a banner of where the document stands now (the
	// live reading view only: never in a saved file, never printed), and
	// CommentOpens and CommentCloses the comment window it shows, in UTC
	// and (with the page's script) in the reader's time zone.
	Phase                       string
	CommentOpens, CommentCloses time.Time
	// Annotate, when set (the live reading view), returns HTML the caller
	// trusts to show after a paragraph's blocks (its comments), given the
	// section id, the paragraph id and its number; with para "" after the
	// section's text (the comments on the whole section).
	Annotate func(section, para string, number int) string
	// Appendix is HTML the caller trusts, shown after the text (the final
	// output's contributors and the disposition of comments).
	Appendix string
	// Links, on the live reading view only, are shown under the banner:
	// pages about the document (what changed, the disposition of
	// comments).
	Links []PageLink
	// Counts, when set, gives the number of comments on a paragraph,
	// shown in the margin under its number, linking to them
	// (#comments-<para>).
	Counts func(section, para string) int
	// Publication leaves empty sections out (the HTML export); otherwise
	// they are shown with a line saying so, and left out when printed.
	Publication bool
	// Lang is the page's language tag; "en" when empty.
	Lang string
}

// PageLink is a link of the reading view's header.
type PageLink struct{ Label, URL string }

// RenderPage renders doc as a complete, standalone HTML5 page for
// reading, saving and printing: inline styles, no script and no external
// resources besides images the writers linked.
func RenderPage(doc *Document, opts PageOptions) []byte {
	return Render(doc).Page(opts)
}

// Page wraps the document in a complete standalone HTML5 page; see RenderPage.
func (r *Rendered) Page(opts PageOptions) []byte {
	var b strings.Builder
	l := Layout{Lang: opts.Lang, Title: r.pageTitle(opts), Inline: true, Content: r.view(opts)}
	if err := documentPage.Execute(&b, l); err != nil {
		// The template and its data are the program's own.
		panic(err)
	}
	return []byte(b.String())
}

// DocumentTemplate is the content template of a document page, for the
// server's reading view; execute it with a Layout whose Content is
// Rendered.View.
func DocumentTemplate() *template.Template { return documentPage }

// View is the data of the document page's content template.
func (r *Rendered) View(opts PageOptions) any { return r.view(opts) }

// PageTitle is the text of a document page's title element.
func (r *Rendered) PageTitle(opts PageOptions) string { return r.pageTitle(opts) }

func (r *Rendered) pageTitle(opts PageOptions) string {
	if f := forum(opts); f != "" {
		return r.Title + " — " + f
	}
	return r.Title
}

func forum(opts PageOptions) string {
	f := opts.BPFName
	if opts.Year != 0 {
		if f != "" {
			f += " "
		}
		f += strconv.Itoa(opts.Year)
	}
	return f
}

// docView is what the document template reads.
type docView struct {
	Forum       string
	Title       string
	Status      string
	Version     int64
	VersionDate time.Time
	Phase       string
	// CommentOpens and CommentCloses: the window the banner shows.
	CommentOpens, CommentCloses time.Time
	Links                       []PageLink
	Appendix                    template.HTML
	Publication                 bool
	TOC                         []tocView
	Sections                    []sectionView
	Footnotes                   []noteView
}

type tocView struct {
	Number   int
	Title    string
	Anchor   string
	Empty    bool
	Children []tocView
}

type sectionView struct {
	RenderedSection
	// Body is the section's blocks, each numbered paragraph after its
	// margin number, built here rather than by the template: a section
	// may hold thousands of blocks.
	Body template.HTML
}

type noteView struct {
	Footnote
	HTML template.HTML
}

func (r *Rendered) view(opts PageOptions) docView {
	v := docView{Forum: forum(opts), Title: r.Title, Status: opts.Status, Version: opts.Version, VersionDate: opts.VersionDate, Phase: opts.Phase, Publication: opts.Publication,
		CommentOpens: opts.CommentOpens, CommentCloses: opts.CommentCloses, Links: opts.Links, Appendix: template.HTML(opts.Appendix)}
	empty := map[string]bool{}
	for _, s := range r.Sections {
		if s.Empty() {
			empty[s.Anchor] = true
			if opts.Publication {
				continue
			}
		}
		var body strings.Builder
		number := 0
		for i, b := range s.Blocks {
			if b.Number > 0 {
				// Ids are paragraph ids (validParaID) with a numeric suffix.
				n := strconv.Itoa(b.Number)
				number = b.Number
				body.WriteString(`<a class="pnum" href="#` + b.ID + `" aria-label="Paragraph ` + n + `">` + n + "</a>\n")
				if opts.Counts != nil && b.Para != "" {
					if k := opts.Counts(s.ID, b.Para); k > 0 {
						// Ids are paragraph ids: safe in an attribute.
						c := strconv.Itoa(k)
						label := c + " comments on paragraph " + n
						if k == 1 {
							label = "1 comment on paragraph " + n
						}
						body.WriteString(`<a class="ccount" href="#comments-` + b.Para + `" aria-label="` + label + `">` + c + "</a>\n")
					}
				}
			}
			// Sanitized by Render, or built there from numbers and ids.
			body.WriteString(b.HTML)
			if opts.Annotate != nil && b.Para != "" && (i+1 == len(s.Blocks) || s.Blocks[i+1].Para != b.Para) {
				body.WriteString(opts.Annotate(s.ID, b.Para, number))
			}
		}
		if opts.Annotate != nil {
			body.WriteString(opts.Annotate(s.ID, "", 0))
		}
		v.Sections = append(v.Sections, sectionView{RenderedSection: s, Body: template.HTML(body.String())})
	}
	var toc func([]TOCEntry) []tocView
	toc = func(es []TOCEntry) []tocView {
		var out []tocView
		for _, e := range es {
			if e.Level == 0 && opts.Publication && empty[e.Anchor] {
				continue
			}
			out = append(out, tocView{Number: e.Number, Title: e.Title, Anchor: e.Anchor, Empty: e.Level == 0 && empty[e.Anchor], Children: toc(e.Children)})
		}
		return out
	}
	v.TOC = toc(r.TOC)
	for _, f := range r.Footnotes {
		v.Footnotes = append(v.Footnotes, noteView{Footnote: f, HTML: template.HTML(f.HTML)})
	}
	return v
}

// BodyHTML is the document's readable body: the table of contents, then
// every section under its numbered heading, with each paragraph's number
// in the margin linking to the paragraph's id, then the footnotes. It
// needs PageCSS inside an element of class bpf-doc, and no script.
func (r *Rendered) BodyHTML() string {
	var b strings.Builder
	if err := documentPage.ExecuteTemplate(&b, "body", r.view(PageOptions{})); err != nil {
		panic(err)
	}
	return b.String()
}

var documentPage = template.Must(template.Must(layout.Clone()).Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2 January 2006") },
	"iso":  func(t time.Time) string { return t.Format(time.DateOnly) },
	"utc":  func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
}).Parse(documentContent))

const documentContent = `{{define "content"}}{{with .Content}}<div class="bpf-doc{{if .Publication}} publication{{end}}">
<header class="title-page">
{{with .Forum}}<p class="doc-forum">{{.}}</p>
{{end}}<h1 class="doc-title">{{.Title}}</h1>
{{if or .Status (not .VersionDate.IsZero)}}<p class="doc-version">{{with .Status}}<span class="doc-status">{{.}}</span>{{end}}{{if not .VersionDate.IsZero}}{{if .Status}} · {{end}}Version of <time datetime="{{iso .VersionDate}}">{{date .VersionDate}}</time>{{end}}</p>
{{end}}{{with .Phase}}<p class="doc-phase"><strong>{{.}}</strong></p>
{{end}}{{if and .Phase (not .CommentOpens.IsZero)}}<p class="doc-window">Comment window: from <time datetime="{{.CommentOpens.UTC.Format "2006-01-02T15:04:05Z"}}" data-local>{{utc .CommentOpens}}</time> to <time datetime="{{.CommentCloses.UTC.Format "2006-01-02T15:04:05Z"}}" data-local>{{utc .CommentCloses}}</time></p>
{{end}}{{with .Links}}<p class="doc-links">{{range $i, $l := .}}{{if $i}} · {{end}}<a href="{{$l.URL}}">{{$l.Label}}</a>{{end}}</p>
{{end}}</header>
<main>
{{template "body" .}}{{.Appendix}}</main>
</div>{{end}}{{end}}

{{define "body"}}<nav class="toc" aria-labelledby="toc-title">
<h2 id="toc-title">Contents</h2>
{{template "toc" .TOC}}{{if .Footnotes}}<p class="toc-notes"><a href="#notes-title">Notes</a></p>
{{end}}</nav>
{{range .Sections}}<section class="doc-section{{if .Empty}} empty{{end}}" data-kind="{{.Kind}}" aria-labelledby="{{.Anchor}}">
<h2 class="section-title" id="{{.Anchor}}"><span class="section-number">{{.Number}}.</span> {{.Title}}</h2>
{{if .Empty}}<p class="no-text">This section has no text yet.</p>
{{end}}{{.Body}}</section>
{{end}}{{if .Footnotes}}<section class="doc-notes" aria-labelledby="notes-title">
<h2 id="notes-title">Notes</h2>
<ol class="footnotes">
{{range .Footnotes}}<li id="{{.ID}}" value="{{.Number}}">{{.HTML}}</li>
{{end}}</ol>
</section>
{{end}}{{end}}

{{define "toc"}}{{if .}}<ol>
{{range .}}<li{{if .Empty}} class="toc-empty"{{end}}>{{if .Anchor}}<a href="#{{.Anchor}}">{{if .Number}}<span class="toc-number">{{.Number}}.</span> {{end}}{{.Title}}</a>{{else}}{{if .Number}}<span class="toc-number">{{.Number}}.</span> {{end}}{{.Title}}{{end}}{{if .Children}}
{{template "toc" .Children}}{{end}}</li>
{{end}}</ol>
{{end}}{{end}}`
