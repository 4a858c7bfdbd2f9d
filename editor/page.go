package editor

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html"
	"strconv"
	"strings"
	"time"
)

// PageCSS is the stylesheet of the standalone page: a readable measure,
// numbered sections, paragraph numbers in the margin and print rules. Its
// rules are scoped to the .bpf-doc class that wraps BodyHTML, so the
// server's public reading view can serve it next to its own styles and
// get the same typography.
//
//go:embed assets/page.css
var PageCSS string

// PageStyleHash is the Content-Security-Policy source ("sha256-...") that
// allows the inline style element of RenderPage's pages and nothing else,
// so a page can be served with style-src limited to it and no script.
var PageStyleHash = styleHash(pageStyle)

// pageStyle is the exact text of the page's style element, which the hash
// covers.
var pageStyle = "\n" + PageCSS

func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// PageOptions is what a standalone page shows besides the document. Every
// field is optional.
type PageOptions struct {
	// BPFName and Year name the Best Practice Forum above the title.
	BPFName string
	Year    int
	// Generated is shown as the page's "generated on" date; the zero time
	// shows none. The caller passes it: rendering reads no clock.
	Generated time.Time
	// Phase, when set, says where the document stands (see PhaseAt): shown
	// under the title.
	Phase string
	// Lang is the page's language tag; "en" when empty.
	Lang string
}

// RenderPage renders doc as a complete HTML5 page for reading, saving and
// printing: inline styles, no script and no external resources besides
// images the writers linked. It fails only like Render.
func RenderPage(doc *Document, opts PageOptions) ([]byte, error) {
	r, err := Render(doc)
	if err != nil {
		return nil, err
	}
	return r.Page(opts), nil
}

// Page wraps BodyHTML in a complete HTML5 page; see RenderPage.
func (r *Rendered) Page(opts PageOptions) []byte {
	lang := opts.Lang
	if lang == "" || !validParaID(lang) {
		lang = "en"
	}
	forum := opts.BPFName
	if opts.Year != 0 {
		if forum != "" {
			forum += " "
		}
		forum += strconv.Itoa(opts.Year)
	}
	title := r.Title
	if forum != "" {
		title += " — " + forum
	}

	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"" + lang + "\">\n<head>\n")
	b.WriteString("<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + html.EscapeString(title) + "</title>\n")
	b.WriteString("<style>" + pageStyle + "</style>\n</head>\n<body>\n")
	b.WriteString("<div class=\"bpf-doc\">\n<header class=\"doc-header\">\n")
	if forum != "" {
		b.WriteString("<p class=\"doc-forum\">" + html.EscapeString(forum) + "</p>\n")
	}
	b.WriteString("<h1 class=\"doc-title\">" + html.EscapeString(r.Title) + "</h1>\n")
	if opts.Phase != "" {
		b.WriteString("<p class=\"doc-phase\"><strong>" + html.EscapeString(opts.Phase) + "</strong></p>\n")
	}
	if !opts.Generated.IsZero() {
		b.WriteString("<p class=\"doc-generated\">Generated on <time datetime=\"" +
			opts.Generated.Format(time.DateOnly) + "\">" +
			opts.Generated.Format("2 January 2006") + "</time></p>\n")
	}
	b.WriteString("</header>\n<main>\n")
	b.WriteString(r.BodyHTML())
	b.WriteString("</main>\n</div>\n</body>\n</html>\n")
	return []byte(b.String())
}

// BodyHTML is the document's readable body: the table of contents, then
// every section under its numbered heading, with each paragraph's number
// in the margin linking to the paragraph's id. It needs PageCSS inside an
// element of class bpf-doc, and no script.
func (r *Rendered) BodyHTML() string {
	var b strings.Builder
	b.WriteString("<nav class=\"toc\" aria-labelledby=\"toc-title\">\n<h2 id=\"toc-title\">Contents</h2>\n")
	writeTOC(&b, r.TOC)
	b.WriteString("</nav>\n")
	for _, s := range r.Sections {
		class := "doc-section"
		if len(s.Blocks) == 0 {
			class += " empty"
		}
		b.WriteString("<section class=\"" + class + "\" data-kind=\"" + html.EscapeString(string(s.Kind)) +
			"\" aria-labelledby=\"" + s.Anchor + "\">\n")
		b.WriteString("<h2 class=\"section-title\" id=\"" + s.Anchor + "\"><span class=\"section-number\">" +
			strconv.Itoa(s.Number) + ".</span> " + html.EscapeString(s.Title) + "</h2>\n")
		if len(s.Blocks) == 0 {
			b.WriteString("<p class=\"no-text\">This section has no text yet.</p>\n")
		}
		for _, blk := range s.Blocks {
			if blk.Number > 0 {
				n := strconv.Itoa(blk.Number)
				b.WriteString("<a class=\"pnum\" href=\"#" + blk.ID + "\" aria-label=\"Paragraph " + n + "\">" + n + "</a>\n")
			}
			b.WriteString(blk.HTML)
		}
		b.WriteString("</section>\n")
	}
	return b.String()
}

func writeTOC(b *strings.Builder, entries []TOCEntry) {
	if len(entries) == 0 {
		return
	}
	b.WriteString("<ol>\n")
	for _, e := range entries {
		b.WriteString("<li>")
		label := html.EscapeString(e.Title)
		if e.Number > 0 {
			label = "<span class=\"toc-number\">" + strconv.Itoa(e.Number) + ".</span> " + label
		}
		if e.Anchor != "" {
			b.WriteString("<a href=\"#" + e.Anchor + "\">" + label + "</a>")
		} else {
			b.WriteString(label)
		}
		if len(e.Children) > 0 {
			b.WriteString("\n")
			writeTOC(b, e.Children)
		}
		b.WriteString("</li>\n")
	}
	b.WriteString("</ol>\n")
}
