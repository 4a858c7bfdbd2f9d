package editor

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Rendering happens in two steps. RenderBody turns one section's text into
// a SectionBody, which depends only on that section (its text and
// paragraph ids), so a server can cache it per section version; Assemble
// puts the bodies of a document together: section numbers, paragraph
// numbers, and the footnotes, which are document-wide (a reference in any
// section finds its definition in any section). Render does both.
//
// Rendering never fails for what a writer typed. Its cost is bounded by
// the Limits: a block over a render limit (nesting, emphasis runs, link
// openers, table cells) is shown as preformatted text with a note, and the
// rest renders; a section over the section size, or a document past the
// rendered size, shows a note in place of what does not fit.

// Rendered is a document turned into sanitized HTML fragments, ready to be
// placed in a page. Every HTML string in it has passed the sanitizer policy
// or was built here from values that need no sanitizing (numbers, ids).
type Rendered struct {
	Title    string            `json:"title"`
	TOC      []TOCEntry        `json:"toc"`
	Sections []RenderedSection `json:"sections"`
	// Footnotes are the document's footnotes in order: those referenced,
	// by first reference, then those defined but never referenced.
	Footnotes []Footnote `json:"footnotes,omitempty"`
}

// TOCEntry is one line of the table of contents: a section (Level 0, with
// its Number) or a heading inside a section (Level 1 for the shallowest
// heading level used in that section, deeper ones nested as Children).
type TOCEntry struct {
	Level  int `json:"level"`
	Number int `json:"number,omitempty"`
	// Title is plain text, not HTML.
	Title string `json:"title"`
	// Anchor is the element id to link to, without "#"; empty when the
	// heading's paragraph has no id yet, in which case there is no link.
	Anchor   string     `json:"anchor,omitempty"`
	Children []TOCEntry `json:"children,omitempty"`
}

// RenderedSection is one section rendered. HTML is its body without the
// section heading, which the page generates from Number and Title.
type RenderedSection struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
	Title  string `json:"title"`
	// Anchor is the id of the generated section heading, "s-" followed by
	// the section id.
	Anchor string      `json:"anchor"`
	Kind   SectionKind `json:"kind"`
	Blocks []Block     `json:"blocks"`
	HTML   string      `json:"html"`
	// NotesHTML lists the footnotes this section refers to, for a preview
	// of the section alone (an ordered list without element ids).
	NotesHTML string `json:"notes_html,omitempty"`
}

// Empty reports whether the section shows nothing but its heading.
func (s *RenderedSection) Empty() bool { return len(s.Blocks) == 0 }

// Block is one top-level block of a section's markdown (a paragraph,
// heading, list, table, quote, code block, rule, left-over HTML, or a block
// degraded to plain text), rendered and sanitized on its own.
type Block struct {
	// ID is the element id the block carries: its paragraph id for the
	// first block starting in that paragraph, "<para>-2", "<para>-3", ...
	// for later ones. Empty when the paragraph has no id yet.
	ID string `json:"id,omitempty"`
	// Para is the paragraph id the block starts in (its data-para), or "".
	Para string `json:"para,omitempty"`
	// Number is the paragraph's position in the document, counting from
	// 1, on the first block of each paragraph that is not a heading; 0
	// otherwise.
	Number int    `json:"number,omitempty"`
	HTML   string `json:"html"`
}

// Footnote is one footnote of the document, rendered.
type Footnote struct {
	Number int `json:"number"`
	// ID is the element id of its list item ("fn-3").
	ID string `json:"id"`
	// Section is the id of the section that defines it.
	Section string `json:"section"`
	// HTML is the footnote's body with links back to its references.
	HTML string `json:"html"`
}

// SectionBody is one section's text rendered on its own: blocks with
// footnote references still unresolved. It depends only on the section's
// Text and Paras, so it can be cached per section version and shared by
// every reader; it is immutable once made.
type SectionBody struct {
	blocks   []bodyBlock
	notes    []bodyNote
	refs     []string // footnote labels, by placeholder index
	headings []TOCEntry
	size     int
}

type bodyBlock struct {
	Block
	numbered bool
}

// bodyNote is a footnote definition of a section.
type bodyNote struct {
	label string
	html  string
}

// Size is the memory the body holds, roughly, for cache accounting.
func (b *SectionBody) Size() int { return b.size }

// Render renders every section of doc and assembles them. It reads doc
// and does not change it.
func Render(doc *Document) *Rendered {
	bodies := make([]*SectionBody, len(doc.Sections))
	for i := range doc.Sections {
		bodies[i] = RenderBody(&doc.Sections[i])
	}
	return Assemble(doc, bodies)
}

// RenderBody renders one section's text. Headings in the text keep their
// level relative to the section heading (h2): "###" is h3, "####" h4; a
// text whose shallowest heading is "#" or "##" is moved down as a whole so
// that it becomes h3. Raw HTML is never passed through: HTML comments are
// dropped and other HTML is shown as text.
func RenderBody(s *Section) *SectionBody {
	return renderBody(s, nil)
}

// placeholder is how a footnote reference appears in a body's HTML until
// Assemble resolves it: markup no writer can produce, since everything
// typed is escaped.
const placeholder = `<sup class="fnref" data-fnref="`

func renderBody(s *Section, taken map[string]bool) *SectionBody {
	body := &SectionBody{}
	if n := UTF16Len(s.Text); n > Limits.SectionUnits {
		err := &LimitError{Limit: "section size", Got: n, Max: Limits.SectionUnits, What: "this section"}
		body.blocks = []bodyBlock{{Block: Block{HTML: noteHTML(err.Error() + "; its text is in the Markdown export.")}}}
		body.size = len(body.blocks[0].HTML)
		return body
	}
	src := []byte(s.Text)
	spans := Paragraphs(s.Text)
	degraded := checkBlocks(s.Text, spans)
	parsed := src
	if len(degraded) > 0 {
		parsed = maskBlocks(src, spans, degraded)
	}
	pc := parser.NewContext()
	root := markdown.Parser().Parse(text.NewReader(parsed), parser.WithContext(pc))
	replaceDegraded(root, spans, degraded, src)
	neutralizeLinks(root, src)
	shiftHeadings(root)

	ids := map[string]bool{}
	unique := func(id string) string {
		if !ids[id] && !taken[id] {
			ids[id] = true
			return id
		}
		for i := 2; ; i++ {
			if c := id + "_" + strconv.Itoa(i); !ids[c] && !taken[c] {
				ids[c] = true
				return c
			}
		}
	}
	claims := make([]int, len(spans)) // blocks already starting in each span
	counted := make([]bool, len(spans))
	lastSpan := -1
	claim := func(pos int) (id, para string) {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].Start > pos }) - 1
		lastSpan = i
		if i < 0 || i >= len(s.Paras) || !validParaID(s.Paras[i]) {
			return "", ""
		}
		claims[i]++
		para = s.Paras[i]
		id = para
		if claims[i] > 1 {
			id = para + "-" + strconv.Itoa(claims[i])
		}
		return unique(id), para
	}

	r := &bodyRenderer{src: src, refs: &body.refs}
	for n := root.FirstChild(); n != nil; n = n.NextSibling() {
		if skipBlock(n) {
			continue
		}
		if n.Kind() == east.KindFootnoteList {
			for fn := n.FirstChild(); fn != nil; fn = fn.NextSibling() {
				f, ok := fn.(*east.Footnote)
				if !ok {
					continue
				}
				if first := fn.FirstChild(); first != nil {
					if id, para := claim(blockPos(fn)); id != "" {
						first.SetAttributeString("id", []byte(id))
						first.SetAttributeString("data-para", []byte(para))
					}
				}
				var h strings.Builder
				for c := fn.FirstChild(); c != nil; c = c.NextSibling() {
					h.WriteString(r.render(c))
				}
				body.notes = append(body.notes, bodyNote{label: string(f.Ref), html: h.String()})
			}
			continue
		}
		var b bodyBlock
		b.ID, b.Para = claim(blockPos(n))
		if b.ID != "" {
			n.SetAttributeString("id", []byte(b.ID))
			n.SetAttributeString("data-para", []byte(b.Para))
		}
		// A paragraph's number goes on its first block that is not a
		// heading: headings are not numbered.
		h, isHeading := n.(*ast.Heading)
		if b.ID != "" && !isHeading && !counted[lastSpan] {
			counted[lastSpan] = true
			b.numbered = true
		}
		if isHeading {
			body.headings = append(body.headings, TOCEntry{Level: h.Level, Title: plainText(h, src), Anchor: b.ID})
		}
		switch n.Kind() {
		case ast.KindParagraph, ast.KindHeading, ast.KindList, ast.KindBlockquote, east.KindTable:
			n.SetAttributeString("dir", []byte("auto"))
		}
		r.queue(n)
		body.blocks = append(body.blocks, b)
	}
	// Blocks are sanitized together, one sanitizer pass per section.
	kept := body.blocks[:0]
	for i, h := range r.flush() {
		if strings.TrimSpace(h) == "" {
			continue
		}
		b := body.blocks[i]
		b.HTML = h
		kept = append(kept, b)
	}
	body.blocks = kept
	for _, b := range body.blocks {
		body.size += len(b.HTML) + len(b.ID) + len(b.Para) + 64
	}
	for _, n := range body.notes {
		body.size += len(n.html) + len(n.label) + 32
	}
	return body
}

// bodyRenderer renders top-level nodes into sanitized HTML.
type bodyRenderer struct {
	src     []byte
	refs    *[]string
	buf     bytes.Buffer
	bw      *bufio.Writer
	pending bytes.Buffer // queued blocks, separated by blockSep
	queued  int
}

// blockSep separates queued blocks in one sanitizer pass: markup the
// renderer never makes otherwise and the policy keeps, as sepOut.
const blockSep = `<hr id="bpfdraft:block">`

var sepOut = string(sanitize([]byte(blockSep)))

// queue renders a block for flush, which sanitizes all queued blocks at
// once: the sanitizer's cost per call is much of a short block's.
func (r *bodyRenderer) queue(n ast.Node) {
	if r.queued > 0 {
		r.pending.WriteString(blockSep)
	}
	r.pending.WriteString(r.raw(n))
	r.queued++
}

// flush returns the queued blocks, sanitized, in order.
func (r *bodyRenderer) flush() []string {
	if r.queued == 0 {
		return nil
	}
	parts := strings.Split(string(sanitize(r.pending.Bytes())), sepOut)
	if len(parts) != r.queued {
		// The policy changed what it keeps of the separator: sanitize the
		// blocks one by one.
		parts = strings.Split(r.pending.String(), blockSep)
		for i := range parts {
			parts[i] = string(sanitize([]byte(parts[i])))
		}
	}
	r.pending.Reset()
	r.queued = 0
	return parts
}

// render renders one block, sanitized.
func (r *bodyRenderer) render(n ast.Node) string {
	return string(sanitize([]byte(r.raw(n))))
}

// raw renders one block as goldmark does, before sanitizing.
func (r *bodyRenderer) raw(n ast.Node) string {
	if r.bw == nil {
		// One buffered writer for all blocks: goldmark would otherwise wrap
		// the buffer in a new 4 KiB bufio.Writer per block.
		r.bw = bufio.NewWriter(&r.buf)
	}
	// Footnote references are numbered per body; Assemble resolves them.
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if ref, ok := c.(*fnRef); ok && entering {
			ref.index = len(*r.refs)
			*r.refs = append(*r.refs, ref.label)
		}
		return ast.WalkContinue, nil
	})
	r.buf.Reset()
	// Rendering into a bytes.Buffer cannot fail.
	_ = markdown.Renderer().Render(r.bw, r.src, n)
	return r.buf.String()
}

// sanitize passes rendered HTML through the sanitizer policy: the second
// wall behind goldmark's escaping (see policy).
func sanitize(h []byte) []byte {
	return policy.SanitizeBytes(h)
}

// noteHTML is a note in place of text that could not be rendered.
func noteHTML(msg string) string {
	return `<p class="render-note">` + html.EscapeString(msg) + "</p>\n"
}

// markdown is built once: goldmark's Markdown is safe for concurrent use,
// and building it registers a dozen parsers and renderers.
var markdown = goldmark.New(
	// No html.WithUnsafe: raw HTML never reaches the output as HTML.
	// No parser.WithAttribute or WithAutoHeadingID: writers do not choose
	// ids or attributes; the renderer does.
	goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
	),
	goldmark.WithParserOptions(
		// Footnote definitions are goldmark's; references are ours, so that
		// "[^1]" is a reference whether or not this section defines it.
		parser.WithBlockParsers(util.Prioritized(extension.NewFootnoteBlockParser(), 999)),
		parser.WithInlineParsers(util.Prioritized(fnRefParser{}, 100)),
	),
	goldmark.WithRendererOptions(
		renderer.WithNodeRenderers(util.Prioritized(blockRenderer{}, 100)),
	),
)

// fnRef is a footnote reference "[^label]".
type fnRef struct {
	ast.BaseInline
	label string
	index int // placeholder index in the body
}

var kindFnRef = ast.NewNodeKind("FootnoteRef")

func (n *fnRef) Kind() ast.NodeKind { return kindFnRef }

func (n *fnRef) Dump(src []byte, level int) {
	ast.DumpHelper(n, src, level, map[string]string{"Label": n.label}, nil)
}

// maxFootnoteLabel bounds a footnote label, in bytes.
const maxFootnoteLabel = 100

// fnRefParser reads "[^label]" as a footnote reference. A label is 1 to
// maxFootnoteLabel bytes without brackets or blanks.
type fnRefParser struct{}

func (fnRefParser) Trigger() []byte { return []byte{'['} }

func (fnRefParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, _ := block.PeekLine()
	if len(line) < 4 || line[1] != '^' {
		return nil
	}
	end := -1
	for i := 2; i < len(line) && i < 2+maxFootnoteLabel+1; i++ {
		c := line[i]
		if c == ']' {
			end = i
			break
		}
		if c == '[' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			return nil
		}
	}
	if end < 3 {
		return nil
	}
	block.Advance(end + 1)
	return &fnRef{label: string(line[2:end])}
}

// shiftHeadings moves every heading of a section text down so that the
// shallowest one is h3, right under the section's h2; a text whose
// headings start at h3 or deeper is left as written.
func shiftHeadings(root ast.Node) {
	top := 7
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			top = min(top, h.Level)
		}
		return ast.WalkContinue, nil
	})
	shift := max(0, 3-top)
	if shift == 0 {
		return
	}
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+shift, 6)
		}
		return ast.WalkContinue, nil
	})
}

// Assemble puts rendered section bodies together into the document:
// bodies[i] is RenderBody of doc.Sections[i] (a nil one is rendered here).
// It numbers sections and paragraphs, resolves footnote references across
// sections (a reference finds the definition in its own section first,
// then the first one in the document), and keeps the whole within the
// rendered size limit. Element ids stay unique: a body whose ids another
// section already uses is rendered again around them.
func Assemble(doc *Document, bodies []*SectionBody) *Rendered {
	r := &Rendered{Title: doc.Title}
	used := map[string]bool{}
	for i := range doc.Sections {
		used[sectionAnchor(doc.Sections[i].ID)] = true
	}
	final := make([]*SectionBody, len(doc.Sections))
	for i := range doc.Sections {
		b := bodies[i]
		if b == nil {
			b = RenderBody(&doc.Sections[i])
		}
		for _, blk := range b.blocks {
			if blk.ID != "" && used[blk.ID] {
				b = renderBody(&doc.Sections[i], used)
				break
			}
		}
		for _, blk := range b.blocks {
			if blk.ID != "" {
				used[blk.ID] = true
			}
		}
		final[i] = b
	}

	notes := newNoteIndex(doc, final)
	number, size := 0, 0
	over := false
	for i := range doc.Sections {
		s := &doc.Sections[i]
		b := final[i]
		rs := RenderedSection{ID: s.ID, Number: i + 1, Title: s.Title, Anchor: sectionAnchor(s.ID), Kind: s.Kind, Blocks: []Block{}}
		bodySize := 0
		for _, blk := range b.blocks {
			bodySize += len(blk.HTML)
		}
		if over || size+bodySize > Limits.RenderBytes {
			over = true
			err := &LimitError{Limit: "rendered size", Got: size + bodySize, Max: Limits.RenderBytes, What: "the document so far"}
			rs.Blocks = append(rs.Blocks, Block{HTML: noteHTML(err.Error() + "; this section is in the Markdown export.")})
		} else {
			var seen []int
			for _, blk := range b.blocks {
				out := blk.Block
				if blk.numbered {
					number++
					out.Number = number
				}
				out.HTML = notes.resolve(i, b, out.HTML, &seen)
				rs.Blocks = append(rs.Blocks, out)
			}
			rs.NotesHTML = notes.preview(seen)
		}
		var h strings.Builder
		for _, blk := range rs.Blocks {
			h.WriteString(blk.HTML)
		}
		rs.HTML = h.String()
		size += len(rs.HTML)
		r.Sections = append(r.Sections, rs)
		r.TOC = append(r.TOC, TOCEntry{Level: 0, Number: rs.Number, Title: rs.Title, Anchor: rs.Anchor, Children: nestHeadings(b.headings)})
	}
	r.Footnotes = notes.list()
	return r
}

// noteKey names a footnote definition: the section that defines it and
// its label.
type noteKey struct {
	section int
	label   string
}

// noteIndex resolves footnote references while a document is assembled.
type noteIndex struct {
	bodies  []*SectionBody
	secIDs  []string
	first   map[string]noteKey // label -> first definition in the document
	own     []map[string]int   // per section: label -> index in notes
	number  map[noteKey]int
	order   []noteKey
	refs    map[int]int // footnote number -> references so far
	total   int         // references rendered as links
	htmlFor map[noteKey]string
}

func newNoteIndex(doc *Document, bodies []*SectionBody) *noteIndex {
	x := &noteIndex{bodies: bodies, first: map[string]noteKey{}, number: map[noteKey]int{}, refs: map[int]int{}, htmlFor: map[noteKey]string{}}
	for i, b := range bodies {
		x.secIDs = append(x.secIDs, doc.Sections[i].ID)
		own := map[string]int{}
		for j, n := range b.notes {
			if _, dup := own[n.label]; dup {
				continue
			}
			own[n.label] = j
			k := noteKey{i, n.label}
			x.htmlFor[k] = n.html
			if _, ok := x.first[n.label]; !ok {
				x.first[n.label] = k
			}
		}
		x.own = append(x.own, own)
	}
	return x
}

// resolve replaces the footnote placeholders of one block of section i.
func (x *noteIndex) resolve(i int, b *SectionBody, h string, seen *[]int) string {
	if !strings.Contains(h, placeholder) {
		return h
	}
	var out strings.Builder
	for {
		at := strings.Index(h, placeholder)
		if at < 0 {
			out.WriteString(h)
			return out.String()
		}
		out.WriteString(h[:at])
		rest := h[at+len(placeholder):]
		end := strings.Index(rest, `"></sup>`)
		idx, err := strconv.Atoi(rest[:max(end, 0)])
		if end < 0 || err != nil || idx < 0 || idx >= len(b.refs) {
			// Not one of ours after all; keep it escaped.
			out.WriteString(html.EscapeString(placeholder))
			h = rest
			continue
		}
		h = rest[end+len(`"></sup>`):]
		label := b.refs[idx]
		k, ok := noteKey{i, label}, false
		if _, ok = x.own[i][label]; !ok {
			k, ok = x.first[label]
		}
		if !ok || x.total >= Limits.FootnoteRefs {
			out.WriteString(html.EscapeString("[^" + label + "]"))
			continue
		}
		n := x.number[k]
		if n == 0 {
			x.order = append(x.order, k)
			n = len(x.order)
			x.number[k] = n
		}
		x.total++
		x.refs[n]++
		if !containsInt(*seen, n) {
			*seen = append(*seen, n)
		}
		fmt.Fprintf(&out, `<sup class="fnref"><a id="%s" href="#fn-%d" role="doc-noteref" aria-label="Note %d">%d</a></sup>`, refID(n, x.refs[n]), n, n, n)
	}
}

func refID(n, k int) string {
	if k == 1 {
		return "fnref-" + strconv.Itoa(n)
	}
	return fmt.Sprintf("fnref-%d-%d", n, k)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// list returns the footnotes: referenced ones by first reference, then
// the definitions nobody refers to, in document order, so that no text a
// writer typed is lost.
func (x *noteIndex) list() []Footnote {
	for i, b := range x.bodies {
		for _, n := range b.notes {
			k := noteKey{i, n.label}
			if _, ok := x.htmlFor[k]; !ok || x.number[k] != 0 {
				continue
			}
			x.order = append(x.order, k)
			x.number[k] = len(x.order)
		}
	}
	bodies := make([]string, len(x.order))
	for i, k := range x.order {
		bodies[i] = x.resolveNote(k)
	}
	var out []Footnote
	for i, k := range x.order {
		n := x.number[k]
		body := bodies[i]
		var back strings.Builder
		for j := 1; j <= x.refs[n]; j++ {
			fmt.Fprintf(&back, ` <a href="#%s" class="fnback" role="doc-backlink" aria-label="Back to reference %d">↩</a>`, refID(n, j), n)
		}
		if strings.HasSuffix(body, "</p>\n") && back.Len() > 0 {
			body = body[:len(body)-len("</p>\n")] + back.String() + "</p>\n"
		} else {
			body += back.String()
		}
		out = append(out, Footnote{Number: n, ID: "fn-" + strconv.Itoa(n), Section: x.secIDs[k.section], HTML: body})
	}
	return out
}

// resolveNote renders references inside a footnote's own text.
func (x *noteIndex) resolveNote(k noteKey) string {
	var ignore []int
	return x.resolve(k.section, x.bodies[k.section], x.htmlFor[k], &ignore)
}

// preview lists, for a section shown alone, the footnotes it refers to.
func (x *noteIndex) preview(nums []int) string {
	if len(nums) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<ol class="footnotes">`)
	for _, n := range nums {
		k := x.order[n-1]
		// Footnote text with its own references left as typed: a preview
		// shows one section, and ids here would clash with the page's.
		body := x.htmlFor[k]
		for strings.Contains(body, placeholder) {
			at := strings.Index(body, placeholder)
			end := strings.Index(body[at:], `"></sup>`)
			if end < 0 {
				break
			}
			body = body[:at] + "*" + body[at+end+len(`"></sup>`):]
		}
		fmt.Fprintf(&b, `<li value="%d">%s</li>`, n, body)
	}
	b.WriteString("</ol>\n")
	return b.String()
}

// skipBlock reports blocks that render to nothing and so get no id.
func skipBlock(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.LinkReferenceDefinition:
		return true
	case *ast.HTMLBlock:
		return n.HTMLBlockType == ast.HTMLBlockType2 // a comment
	}
	return false
}

// blockPos is the byte offset where a block starts in its source. The
// parser records it on every block; descendants are a fallback.
func blockPos(n ast.Node) int {
	if p := n.Pos(); p >= 0 {
		return p
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if p := blockPos(c); p >= 0 {
			return p
		}
	}
	if n.Type() == ast.TypeBlock && n.Lines().Len() > 0 {
		return n.Lines().At(0).Start
	}
	return -1
}

// sectionAnchor is the id of a section's heading. Section ids are
// plain keys, but anything else is mapped to "-" so the id stays valid.
func sectionAnchor(sectionID string) string {
	var b strings.Builder
	b.WriteString("s-")
	for _, r := range sectionID {
		if r < 0x80 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// validParaID keeps odd stored ids out of the HTML; those paragraphs are
// rendered as if they had no id.
func validParaID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// plainText is the text of an inline tree, for the table of contents.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			b.Write(n.Segment.Value(src))
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(n.Value)
		case *ast.AutoLink:
			b.Write(n.Label(src))
		case *ast.RawHTML:
			for i := 0; i < n.Segments.Len(); i++ {
				seg := n.Segments.At(i)
				b.Write(seg.Value(src))
			}
		case *fnRef:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// nestHeadings turns a section's headings, in order, into a tree: each
// heading becomes a child of the closest earlier heading of a smaller
// markdown level. Levels are renumbered from 1 by depth.
func nestHeadings(hs []TOCEntry) []TOCEntry {
	// Children are collected as indexes first: appending entries to a
	// parent's slice while deeper ones still point into it would copy them
	// too early.
	children := make([][]int, len(hs))
	var roots, open []int
	for i, h := range hs {
		for len(open) > 0 && hs[open[len(open)-1]].Level >= h.Level {
			open = open[:len(open)-1]
		}
		if len(open) == 0 {
			roots = append(roots, i)
		} else {
			p := open[len(open)-1]
			children[p] = append(children[p], i)
		}
		open = append(open, i)
	}
	var build func(i, depth int) TOCEntry
	build = func(i, depth int) TOCEntry {
		e := hs[i]
		e.Level = depth
		e.Children = nil
		for _, c := range children[i] {
			e.Children = append(e.Children, build(c, depth+1))
		}
		return e
	}
	var out []TOCEntry
	for _, r := range roots {
		out = append(out, build(r, 1))
	}
	return out
}

// blockRenderer renders the blocks whose stock renderers drop attributes
// (code blocks) or would lose what the writer typed (raw HTML), blocks
// degraded to plain text, and footnote reference placeholders.
type blockRenderer struct{}

func (blockRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindCodeBlock, renderCode)
	reg.Register(ast.KindFencedCodeBlock, renderCode)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(kindFnRef, renderFnRef)
	reg.Register(kindDegraded, renderDegraded)
}

var codeAttrs = util.NewBytesFilterString("id,data-para")

func renderCode(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<pre")
	ghtml.RenderAttributes(w, n, codeAttrs)
	_, _ = w.WriteString("><code")
	if f, ok := n.(*ast.FencedCodeBlock); ok {
		if lang := f.Language(src); lang != nil {
			_, _ = w.WriteString(` class="language-`)
			ghtml.DefaultWriter.Write(w, lang)
			_ = w.WriteByte('"')
		}
	}
	_ = w.WriteByte('>')
	writeLines(w, src, n)
	return ast.WalkContinue, nil
}

func writeLines(w util.BufWriter, src []byte, n ast.Node) {
	for i := 0; i < n.Lines().Len(); i++ {
		line := n.Lines().At(i)
		ghtml.DefaultWriter.RawWrite(w, line.Value(src))
	}
}

// renderHTMLBlock shows an HTML block's source as preformatted text: the
// writer sees that HTML is not interpreted, and nothing typed is lost.
func renderHTMLBlock(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.HTMLBlock)
	if !entering {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<pre class="raw-html"`)
	ghtml.RenderAttributes(w, n, codeAttrs)
	_, _ = w.WriteString("><code>")
	writeLines(w, src, n)
	if n.HasClosure() {
		ghtml.DefaultWriter.RawWrite(w, n.ClosureLine.Value(src))
	}
	_, _ = w.WriteString("</code></pre>\n")
	return ast.WalkContinue, nil
}

// renderRawHTML shows inline HTML as the text typed, except comments,
// which writers use for notes to each other.
func renderRawHTML(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	var raw []byte
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		raw = append(raw, seg.Value(src)...)
	}
	if !bytes.HasPrefix(raw, []byte("<!--")) {
		ghtml.DefaultWriter.RawWrite(w, raw)
	}
	return ast.WalkSkipChildren, nil
}

func renderFnRef(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		_, _ = w.WriteString(placeholder + strconv.Itoa(node.(*fnRef).index) + `"></sup>`)
	}
	return ast.WalkSkipChildren, nil
}
