package editor

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// pathological are the inputs the renderer was taken down with, and their
// cousins: what goldmark is slow on, and what blows its output up.
var pathological = []struct {
	name string
	text func() string
}{
	{"table 300x3000 (7 KB)", func() string {
		return "|" + strings.Repeat("a|", 300) + "\n|" + strings.Repeat("-|", 300) + "\n" + strings.Repeat("a\n", 3000)
	}},
	{"emphasis *a_ 100 KB", func() string { return strings.Repeat("*a_", 33000) }},
	{"emphasis *a_ 100 KB in 400 blocks", func() string { return strings.Repeat(strings.Repeat("*a_", 83)+"\n\n", 400) }},
	{"emphasis _a* 100 KB", func() string { return strings.Repeat("_a* ", 25000) }},
	{"link openers [a](b 100 KB", func() string { return strings.Repeat("[a](b", 20000) }},
	{"link openers [a](b 100 KB in 400 blocks", func() string { return strings.Repeat(strings.Repeat("[a](b", 50)+"\n\n", 400) }},
	{"nested brackets 20 KB", func() string { return strings.Repeat("[", 10000) + "a" + strings.Repeat("]", 10000) }},
	{"33 > on a line", func() string { return strings.Repeat(">", 33) + " a" }},
	{"1 MB of >", func() string { return strings.Repeat(">", 1<<20-1) }},
	{"nested lists 300 deep", func() string {
		var b strings.Builder
		for i := range 300 {
			b.WriteString(strings.Repeat("  ", i) + "- a\n")
		}
		return b.String()
	}},
	{"footnote refs 200 KB", func() string { return strings.Repeat("[^a]", 50000) + "\n\n[^a]: x" }},
	{"10,000 paragraphs", func() string { return strings.Repeat("a\n\n", Limits.Paragraphs) }},
	{"entities 256 KB", func() string { return strings.Repeat("&", Limits.SectionUnits) }},
}

// pathologicalDoc puts an input in one section of a document, the way it
// would be stored if a co-author typed it.
func pathologicalDoc(text string) *Document {
	d := &Document{ID: "d", Title: "T", Sections: []Section{{ID: "s", Title: "S", Kind: Custom, Text: text}}}
	d.AssignParagraphIDs()
	return d
}

// BenchmarkPathological renders each pathological input to the reading
// view's page and reports its size; docs/benchmarks.md records the figures.
func BenchmarkPathological(b *testing.B) {
	for _, p := range pathological {
		doc := pathologicalDoc(p.text())
		b.Run(p.name, func(b *testing.B) {
			var out int
			for b.Loop() {
				out = len(RenderPage(doc, PageOptions{}))
			}
			b.ReportMetric(float64(out), "out-bytes")
		})
	}
}

// TestPathologicalOutput: each pathological input renders to at most 10
// MB, with the blocks over a limit shown as plain text. (Their time is a
// benchmark's business: tests do not time things.)
func TestPathologicalOutput(t *testing.T) {
	for _, p := range pathological {
		doc := pathologicalDoc(p.text())
		page := RenderPage(doc, PageOptions{})
		if len(page) > 10<<20 {
			t.Errorf("%s: %d bytes of HTML; want at most 10 MB", p.name, len(page))
		}
	}
}

// TestRenderBudgetDegrades: a document past the rendered size limit shows
// a note in place of the sections that do not fit; the page still renders.
func TestRenderBudgetDegrades(t *testing.T) {
	defer func(old int) { Limits.RenderBytes = old }(Limits.RenderBytes)
	Limits.RenderBytes = 4 << 10
	doc := &Document{Title: "T"}
	for i := range 4 {
		doc.Sections = append(doc.Sections, Section{ID: fmt.Sprint("s", i), Title: "S", Text: strings.Repeat("Some words of text. ", 100)})
	}
	doc.AssignParagraphIDs()
	r := Render(doc)
	if !strings.Contains(r.Sections[0].HTML, "Some words") || !strings.Contains(r.Sections[3].HTML, "rendered size limit") {
		t.Errorf("got %q … %q; want the first section and a note for the last", r.Sections[0].HTML[:40], r.Sections[3].HTML)
	}
}

// BenchmarkLargestDocument renders the largest document the limits allow,
// of ordinary text, from nothing and then from cached section bodies.
func BenchmarkLargestDocument(b *testing.B) {
	doc := &Document{ID: "d", Title: "Largest"}
	para := strings.Repeat("Policy and practice of the BPF, with **emphasis** and a [link](https://example.org). ", 6)
	for i := range 4 {
		var t strings.Builder
		for t.Len() < Limits.SectionUnits-len(para)-8 {
			if t.Len()%20 == 0 {
				fmt.Fprintf(&t, "### Part %d\n\n", t.Len())
			}
			t.WriteString(para + "\n\n")
		}
		doc.Sections = append(doc.Sections, Section{ID: fmt.Sprint("s", i), Title: "S", Kind: Custom, Text: t.String()})
	}
	doc.AssignParagraphIDs()
	if err := doc.CheckLimits(); err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			RenderPage(doc, PageOptions{})
		}
	})
	bodies := make([]*SectionBody, len(doc.Sections))
	for i := range doc.Sections {
		bodies[i] = RenderBody(&doc.Sections[i])
	}
	b.Run("assemble cached", func(b *testing.B) {
		for b.Loop() {
			Assemble(doc, bodies).Page(PageOptions{})
		}
	})
}

var _ = time.Second
