package editor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Rendering is pure and bounded, but not free: goldmark and the sanitizer
// are linear in practice, yet some inputs cost them noticeably (deep
// nesting, long runs of delimiters). The server therefore renders off the
// edit path — for previews, the public reading view and exports — never
// while holding a document's hub, and MaxRenderBytes caps the work.

// MaxRenderBytes is the most markdown, summed over a document's section
// titles and texts, that Render, RenderSection and RenderPage accept.
// Above it they return ErrTooLarge.
const MaxRenderBytes = 1 << 20

// MaxNesting is the deepest nesting of block quotes and list items one
// line may open. goldmark's time grows with the square of that depth (a
// megabyte of ">" takes minutes), and no document needs more.
const MaxNesting = 32

// ErrTooLarge reports a document above MaxRenderBytes; nothing is rendered.
var ErrTooLarge = errors.New("document too large to render")

// ErrTooComplex reports markdown nested deeper than MaxNesting; nothing is
// rendered.
var ErrTooComplex = errors.New("document too deeply nested to render")

// Rendered is a document turned into sanitized HTML fragments, ready to be
// placed in a page. Every HTML string in it has passed the sanitizer policy.
type Rendered struct {
	Title    string            `json:"title"`
	TOC      []TOCEntry        `json:"toc"`
	Sections []RenderedSection `json:"sections"`
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
}

// Block is one top-level block of a section's markdown (a paragraph,
// heading, list, table, quote, code block, rule, left-over HTML, or the
// section's footnotes), rendered and sanitized on its own.
type Block struct {
	// ID is the element id the block carries: its paragraph id for the
	// first block starting in that paragraph, "<para>-2", "<para>-3", ...
	// for later ones. Empty when the paragraph has no id yet, and for the
	// footnote list.
	ID string `json:"id,omitempty"`
	// Para is the paragraph id the block starts in (its data-para), or "".
	Para string `json:"para,omitempty"`
	// Number is the paragraph's position in the document, counting from
	// 1, set on the first block of each paragraph only; 0 otherwise.
	Number int    `json:"number,omitempty"`
	HTML   string `json:"html"`
}

// Render renders every section of doc. It reads doc and does not change
// it. Section headings are not part of the markdown: they are generated
// from the titles and numbers. Markdown headings inside a section are
// moved two levels down (# becomes h3) so they nest under the document
// title (h1) and the section heading (h2). Raw HTML is never passed
// through: HTML comments are dropped and other HTML is shown as text.
// Input beyond MaxRenderBytes or MaxNesting fails with ErrTooLarge or
// ErrTooComplex, and nothing is rendered.
func Render(doc *Document) (*Rendered, error) {
	if err := checkSize(doc); err != nil {
		return nil, err
	}
	r := &Rendered{Title: doc.Title}
	ids := newIDSet()
	number := 0
	for i := range doc.Sections {
		rs := renderSection(doc, i, ids, &number)
		r.Sections = append(r.Sections, rs.RenderedSection)
		r.TOC = append(r.TOC, TOCEntry{
			Level:    0,
			Number:   rs.Number,
			Title:    rs.Title,
			Anchor:   rs.Anchor,
			Children: nestHeadings(rs.headings),
		})
	}
	return r, nil
}

// RenderSection renders one section of doc for a live preview, as Render
// renders it, without parsing the other sections: ids are the same (unless
// stored paragraph ids are duplicated across sections), but Block.Number
// counts from the section's first paragraph, not the document's. It fails
// with ErrInvalid when there is no such section, and with ErrTooLarge or
// ErrTooComplex like Render.
func RenderSection(doc *Document, sectionID string) (*RenderedSection, error) {
	if err := checkSize(doc); err != nil {
		return nil, err
	}
	idx := -1
	for i := range doc.Sections {
		if doc.Sections[i].ID == sectionID {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%w: no section %q", ErrInvalid, sectionID)
	}
	number := 0
	rs := renderSection(doc, idx, newIDSet(), &number)
	return &rs.RenderedSection, nil
}

func checkSize(doc *Document) error {
	n := len(doc.Title)
	for i := range doc.Sections {
		n += len(doc.Sections[i].Title) + len(doc.Sections[i].Text)
	}
	if n > MaxRenderBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, MaxRenderBytes)
	}
	for i := range doc.Sections {
		s := &doc.Sections[i]
		ln := 0
		for line := range strings.SplitSeq(s.Text, "\n") {
			ln++
			if d := nesting(line); d > MaxNesting {
				return fmt.Errorf("%w: section %q line %d opens %d levels of quotes and lists, limit %d",
					ErrTooComplex, s.Title, ln, d, MaxNesting)
			}
		}
	}
	return nil
}

// nesting counts the block quote and list markers that open a line. Lines
// of only "-", "*", "_" and blanks are rules or heading underlines, not lists.
func nesting(line string) int {
	if strings.Trim(line, "-*_ \t\r") == "" {
		return 0
	}
	depth := 0
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '>':
			depth++
			i++
		case c == '-' || c == '*' || c == '+':
			if i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\t' {
				return depth
			}
			depth++
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j >= len(line) || line[j] != '.' && line[j] != ')' ||
				j+1 < len(line) && line[j+1] != ' ' && line[j+1] != '\t' {
				return depth
			}
			depth++
			i = j + 1
		default:
			return depth
		}
	}
	return depth
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
		extension.NewFootnote(extension.WithFootnoteIDPrefixFunction(footnotePrefix)),
	),
	goldmark.WithRendererOptions(
		renderer.WithNodeRenderers(util.Prioritized(blockRenderer{}, 100)),
	),
)

// footnotePrefixAttr carries, on the parsed ast.Document, the prefix that
// keeps footnote ids of one section apart from those of the others.
const footnotePrefixAttr = "fn-prefix"

func footnotePrefix(n ast.Node) []byte {
	for ; n != nil; n = n.Parent() {
		if n.Kind() == ast.KindDocument {
			if v, ok := n.AttributeString(footnotePrefixAttr); ok {
				if b, ok := v.([]byte); ok {
					return b
				}
			}
			return nil
		}
	}
	return nil
}

type sectionResult struct {
	RenderedSection
	headings []TOCEntry
}

func renderSection(doc *Document, idx int, ids *idSet, number *int) sectionResult {
	s := &doc.Sections[idx]
	anchor := ids.unique(sectionAnchor(s.ID))
	res := sectionResult{RenderedSection: RenderedSection{
		ID:     s.ID,
		Number: idx + 1,
		Title:  s.Title,
		Anchor: anchor,
		Kind:   s.Kind,
	}}

	src := []byte(s.Text)
	root := markdown.Parser().Parse(text.NewReader(src))
	root.SetAttributeString(footnotePrefixAttr, []byte(anchor+"-"))
	neutralizeLinks(root, src)

	spans := Paragraphs(s.Text)
	claims := make([]int, len(spans)) // blocks already starting in each span
	claim := func(pos int) (id, para string) {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].Start > pos }) - 1
		if i < 0 || i >= len(s.Paras) || !validParaID(s.Paras[i]) {
			return "", ""
		}
		claims[i]++
		para = s.Paras[i]
		id = para
		if claims[i] > 1 {
			id = para + "-" + strconv.Itoa(claims[i])
		}
		return ids.unique(id), para
	}

	var buf bytes.Buffer
	// One buffered writer for all blocks: goldmark would otherwise wrap
	// the buffer in a new 4 KiB bufio.Writer per block.
	bw := bufio.NewWriter(&buf)
	var body strings.Builder
	for n := root.FirstChild(); n != nil; n = n.NextSibling() {
		if skipBlock(n) {
			continue
		}
		var b Block
		switch n.Kind() {
		case east.KindFootnoteList:
			for fn := n.FirstChild(); fn != nil; fn = fn.NextSibling() {
				if first := fn.FirstChild(); first != nil {
					if id, para := claim(blockPos(fn)); id != "" {
						first.SetAttributeString("id", []byte(id))
						first.SetAttributeString("data-para", []byte(para))
					}
				}
			}
		default:
			b.ID, b.Para = claim(blockPos(n))
			if b.ID != "" {
				n.SetAttributeString("id", []byte(b.ID))
				n.SetAttributeString("data-para", []byte(b.Para))
				if b.ID == b.Para {
					*number++
					b.Number = *number
				}
			}
		}
		if h, ok := n.(*ast.Heading); ok {
			res.headings = append(res.headings, TOCEntry{
				Level:  h.Level,
				Title:  plainText(h, src),
				Anchor: b.ID,
			})
			h.Level = min(h.Level+2, 6)
		}
		buf.Reset()
		// Rendering into a bytes.Buffer cannot fail.
		_ = markdown.Renderer().Render(bw, src, n)
		b.HTML = string(policy.SanitizeBytes(buf.Bytes()))
		if strings.TrimSpace(b.HTML) == "" {
			continue
		}
		res.Blocks = append(res.Blocks, b)
		body.WriteString(b.HTML)
	}
	res.HTML = body.String()
	return res
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

// idSet keeps element ids unique across a document even if stored
// paragraph ids were ever duplicated.
type idSet struct{ seen map[string]bool }

func newIDSet() *idSet { return &idSet{seen: map[string]bool{}} }

// reserve marks id as used and reports whether it was free.
func (s *idSet) reserve(id string) bool {
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}

// unique returns id, or id with a numeric suffix when id is taken.
func (s *idSet) unique(id string) string {
	if s.reserve(id) {
		return id
	}
	for i := 2; ; i++ {
		if c := id + "_" + strconv.Itoa(i); s.reserve(c) {
			return c
		}
	}
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
		case *east.FootnoteLink:
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
// (code blocks) or would lose what the writer typed (raw HTML), so that
// every block can carry its paragraph id.
type blockRenderer struct{}

func (blockRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindCodeBlock, renderCode)
	reg.Register(ast.KindFencedCodeBlock, renderCode)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(ast.KindRawHTML, renderRawHTML)
}

var codeAttrs = util.NewBytesFilterString("id,data-para")

func renderCode(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<pre")
	html.RenderAttributes(w, n, codeAttrs)
	_, _ = w.WriteString("><code")
	if f, ok := n.(*ast.FencedCodeBlock); ok {
		if lang := f.Language(src); lang != nil {
			_, _ = w.WriteString(` class="language-`)
			html.DefaultWriter.Write(w, lang)
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
		html.DefaultWriter.RawWrite(w, line.Value(src))
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
	html.RenderAttributes(w, n, codeAttrs)
	_, _ = w.WriteString("><code>")
	writeLines(w, src, n)
	if n.HasClosure() {
		html.DefaultWriter.RawWrite(w, n.ClosureLine.Value(src))
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
		html.DefaultWriter.RawWrite(w, raw)
	}
	return ast.WalkSkipChildren, nil
}
