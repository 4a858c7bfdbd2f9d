package editor

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/render")

// readDocFile reads a test document: a line "@@ <id> <kind> [paras=N]
// <title>" starts each section, and the lines up to the next one are its
// markdown. Paragraph ids are assigned as the server would; paras=N keeps
// only the first N, as for text the server has not seen yet.
func readDocFile(t testing.TB, path string) *Document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := &Document{ID: "d1", Title: "Test document: " + strings.TrimSuffix(filepath.Base(path), ".md")}
	limits := map[int]int{}
	var text []string
	flush := func() {
		if len(doc.Sections) > 0 {
			doc.Sections[len(doc.Sections)-1].Text = strings.TrimRight(strings.Join(text, "\n"), "\n")
		}
		text = nil
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "@@ "); ok {
			flush()
			f := strings.Fields(rest)
			if len(f) < 3 {
				t.Fatalf("%s: bad section line %q", path, line)
			}
			s := Section{ID: f[0], Kind: SectionKind(f[1])}
			title := f[2:]
			if n, ok := strings.CutPrefix(title[0], "paras="); ok {
				limit, err := strconv.Atoi(n)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				limits[len(doc.Sections)] = limit
				title = title[1:]
			}
			s.Title = strings.Join(title, " ")
			doc.Sections = append(doc.Sections, s)
			continue
		}
		text = append(text, line)
	}
	flush()
	doc.AssignParagraphIDs()
	for i, n := range limits {
		doc.Sections[i].Paras = doc.Sections[i].Paras[:n]
	}
	return doc
}

func TestRenderGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/render/*.md")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			doc := readDocFile(t, in)
			got := Render(doc).BodyHTML()
			goldenPath := strings.TrimSuffix(in, ".md") + ".html"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test ./editor -run Render -update)", err)
			}
			compareLines(t, goldenPath, got, string(want))
		})
	}
}

// compareLines reports the first line where got and want differ.
func compareLines(t *testing.T, name, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("%s line %d: got %q; want %q", name, i+1, gl, wl)
			return
		}
	}
}

func TestRenderParagraphIDs(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		paras []string
		want  []Block // HTML not compared
	}{
		{"one per paragraph", "a\n\nb\n\nc", []string{"p1", "p2", "p3"},
			[]Block{{ID: "p1", Para: "p1", Number: 1}, {ID: "p2", Para: "p2", Number: 2}, {ID: "p3", Para: "p3", Number: 3}}},
		{"heading then text", "## H\ntext\n\nnext", []string{"p7", "p9"},
			[]Block{{ID: "p7", Para: "p7"}, {ID: "p7-2", Para: "p7", Number: 1}, {ID: "p9", Para: "p9", Number: 2}}},
		{"three blocks in one paragraph", "# A\n## B\n- c", []string{"p4"},
			[]Block{{ID: "p4", Para: "p4"}, {ID: "p4-2", Para: "p4"}, {ID: "p4-3", Para: "p4", Number: 1}}},
		{"fence over a blank line", "```\nx\n\ny\n```\n\nafter", []string{"p1", "p2", "p3"},
			[]Block{{ID: "p1", Para: "p1", Number: 1}, {ID: "p3", Para: "p3", Number: 2}}},
		{"ids not assigned yet", "a\n\nb\n\nc", []string{"p1"},
			[]Block{{ID: "p1", Para: "p1", Number: 1}, {}, {}}},
		{"no ids at all", "a\n\n- b", nil, []Block{{}, {}}},
		{"invalid stored id", "a", []string{`p1" onclick="x`}, []Block{{}}},
		{"link definitions and comments take no block", "[a]: http://x\n\n<!-- c -->\n\nz", []string{"p1", "p2", "p3"},
			[]Block{{ID: "p3", Para: "p3", Number: 1}}},
		{"indented start", "   indented\n\n  > quote", []string{"p1", "p2"},
			[]Block{{ID: "p1", Para: "p1", Number: 1}, {ID: "p2", Para: "p2", Number: 2}}},
		{"thematic break", "a\n\n---\n\nb", []string{"p1", "p2", "p3"},
			[]Block{{ID: "p1", Para: "p1", Number: 1}, {ID: "p2", Para: "p2", Number: 2}, {ID: "p3", Para: "p3", Number: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := &Document{Title: "T", Sections: []Section{{ID: "s", Title: "S", Kind: Custom, Text: tt.text, Paras: tt.paras}}}
			r := Render(doc)
			var got []Block
			for _, b := range r.Sections[0].Blocks {
				if strings.Contains(b.HTML, `class="footnotes"`) {
					continue
				}
				if b.ID != "" && !strings.Contains(b.HTML, fmt.Sprintf(`id="%s" data-para="%s"`, b.ID, b.Para)) {
					t.Errorf("block %s: HTML lacks its id: %s", b.ID, b.HTML)
				}
				b.HTML = ""
				got = append(got, b)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestRenderNumbersAcrossSections(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	r := Render(doc)
	var got []int
	for _, s := range r.Sections {
		for _, b := range s.Blocks {
			if b.Number > 0 {
				got = append(got, b.Number)
			}
		}
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("got numbers %v; want [1 2 3]", got)
	}
}

// Footnotes are document-wide: a reference finds the definition in its own
// section first, then anywhere in the document; each renders once, at the
// end, numbered by first reference.
func TestRenderFootnotesAcrossSections(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	r := Render(doc)
	var got []string
	for _, f := range r.Footnotes {
		got = append(got, fmt.Sprintf("%d %s %s", f.Number, f.Section, plainOf(f.HTML)))
	}
	want := []string{
		"1 definition UN GGE report, 2015. ↩",
		"2 definition A second note, with a continuation line. ↩",
		"3 case-studies Defined in section 3, cited in sections 1 and 3. ↩ ↩",
		"4 methodology Survey questionnaire, annex A. ↩",
		"5 case-studies Never cited, kept all the same.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got footnotes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	body := r.BodyHTML()
	if strings.Contains(body, "[^") && !strings.Contains(body, "[^nowhere]") {
		t.Errorf("got a reference left as typed: %s", body)
	}
	if !strings.Contains(body, "[^nowhere]") {
		t.Errorf("an undefined reference should stay as typed; got %s", body)
	}
	// Each footnote's list item and each reference's anchor exist once.
	for _, id := range []string{`id="fn-3"`, `id="fnref-3"`, `id="fnref-3-2"`, `href="#fnref-3-2"`, `href="#fn-4"`} {
		if n := strings.Count(body, id); n != 1 {
			t.Errorf("got %s %d times; want once", id, n)
		}
	}
	if n := strings.Count(body, `<section class="doc-notes"`); n != 1 {
		t.Errorf("got %d notes sections; want 1 at the end", n)
	}
	if s := r.Sections[1]; !strings.Contains(s.NotesHTML, `<li value="4">`) {
		t.Errorf("section preview notes: got %q; want footnote 4", s.NotesHTML)
	}
}

func plainOf(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
func TestRenderTOC(t *testing.T) {
	doc := readDocFile(t, "testdata/render/toc.md")
	r := Render(doc)
	var b strings.Builder
	var dump func(es []TOCEntry, indent string)
	dump = func(es []TOCEntry, indent string) {
		for _, e := range es {
			fmt.Fprintf(&b, "%s%d %d %s #%s\n", indent, e.Level, e.Number, e.Title, e.Anchor)
			dump(e.Children, indent+"  ")
		}
	}
	dump(r.TOC, "")
	want := `0 1 Definition of the issue(s) #s-definition
  1 0 Background with emphasis #p2
    2 0 Earlier work on norms #p4
    2 0 Stakeholders #p6
  1 0 Scope #p7
    2 0 A deep heading right under a level-2 one #p8
0 2 Regional specificities #s-regional
  1 0 Africa #p9
    2 0 West Africa #p10
  1 0 Asia & the Pacific #p11
0 3 Annex: glossary #s-custom-1
`
	if got := b.String(); got != want {
		t.Errorf("got TOC:\n%s\nwant:\n%s", got, want)
	}
}

// Headings keep their level relative to the section: ### is h3 under the
// section's h2; a text that starts at # or ## moves down as a whole.
func TestRenderHeadingLevels(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"### three\n\n#### four\n\n##### five", []string{"<h3 ", "<h4 ", "<h5 "}},
		{"# one\n\n## two\n\n##### five", []string{"<h3 ", "<h4 ", "<h6 "}},
		{"## two\n\n### three", []string{"<h3 ", "<h4 "}},
		{"#### four only", []string{"<h4 "}},
	}
	for _, tt := range tests {
		doc := &Document{Sections: []Section{{ID: "s", Text: tt.text}}}
		doc.AssignParagraphIDs()
		r := Render(doc)
		for i, want := range tt.want {
			b := r.Sections[0].Blocks[i]
			if !strings.HasPrefix(b.HTML, want) {
				t.Errorf("%q block %d: got %q; want prefix %q", tt.text, i, b.HTML, want)
			}
			if b.Number != 0 {
				t.Errorf("%q block %d: a heading got paragraph number %d; want none", tt.text, i, b.Number)
			}
		}
	}
}

// Render is RenderBody per section and Assemble: a cached body gives the
// same page as a fresh one.
func TestRenderBodyAssemble(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	bodies := make([]*SectionBody, len(doc.Sections))
	for i := range doc.Sections {
		bodies[i] = RenderBody(&doc.Sections[i])
	}
	a, b := Assemble(doc, bodies).BodyHTML(), Render(doc).BodyHTML()
	if a != b {
		t.Errorf("Assemble of cached bodies differs from Render:\n%s\n---\n%s", a, b)
	}
	// Twice from the same bodies: the bodies are not changed by assembling.
	if c := Assemble(doc, bodies).BodyHTML(); c != a {
		t.Errorf("second Assemble of the same bodies differs")
	}
}

// Ids stay unique even if two sections were ever given the same
// paragraph id: the later one is rendered again around the first.
func TestRenderDuplicateIDs(t *testing.T) {
	doc := &Document{Sections: []Section{
		{ID: "a", Text: "one", Paras: []string{"p1"}},
		{ID: "b", Text: "two", Paras: []string{"p1"}},
	}}
	body := Render(doc).BodyHTML()
	if strings.Count(body, `id="p1"`) != 1 || !strings.Contains(body, `id="p1_2"`) {
		t.Errorf("got %s; want p1 and p1_2", body)
	}
}

func TestRenderDoesNotChangeDocument(t *testing.T) {
	doc := readDocFile(t, "testdata/render/ids.md")
	before := fmt.Sprintf("%+v", *doc)
	Render(doc)
	if after := fmt.Sprintf("%+v", *doc); after != before {
		t.Errorf("got document changed to %s; want %s", after, before)
	}
}

// TestRenderConcurrent checks that the shared parser, renderer and policy
// can be used from many goroutines at once (run with -race).
func TestRenderConcurrent(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	want := Render(doc).BodyHTML()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := Render(doc).BodyHTML(); got != want {
				t.Errorf("concurrent render: got different HTML; want the same")
			}
		})
	}
	wg.Wait()
}

func largeDocument() *Document {
	doc := &Document{Title: "Large"}
	for i := range 10 {
		var b strings.Builder
		for j := range 150 {
			switch j % 6 {
			case 0:
				fmt.Fprintf(&b, "## Heading %d.%d\n\n", i, j)
			case 1:
				b.WriteString("- item with a [link](https://example.org/a)\n- item *two*\n  - nested\n\n")
			case 2:
				b.WriteString("| a | b |\n|:--|--:|\n| 1 | 2 |\n| 3 | 4 |\n\n")
			case 3:
				fmt.Fprintf(&b, "A paragraph with a footnote.[^%d] It has **strong** and ~~struck~~ words, www.example.org and `code`.\n\n[^%d]: The note.\n\n", j, j)
			default:
				b.WriteString(strings.Repeat("Plain prose about policy and practice. ", 12) + "\n\n")
			}
		}
		doc.Sections = append(doc.Sections, Section{ID: fmt.Sprintf("s%d", i), Title: "Section", Kind: Recommended, Text: b.String()})
	}
	doc.AssignParagraphIDs()
	return doc
}

func BenchmarkRender(b *testing.B) {
	doc := largeDocument()
	n := 0
	for _, s := range doc.Sections {
		n += len(s.Text)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		Render(doc)
	}
}
