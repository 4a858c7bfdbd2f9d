package editor

import (
	"errors"
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
			r, err := Render(doc)
			if err != nil {
				t.Fatal(err)
			}
			got := r.BodyHTML()
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
			[]Block{{ID: "p7", Para: "p7", Number: 1}, {ID: "p7-2", Para: "p7"}, {ID: "p9", Para: "p9", Number: 2}}},
		{"three blocks in one paragraph", "# A\n## B\n- c", []string{"p4"},
			[]Block{{ID: "p4", Para: "p4", Number: 1}, {ID: "p4-2", Para: "p4"}, {ID: "p4-3", Para: "p4"}}},
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
			r, err := Render(doc)
			if err != nil {
				t.Fatal(err)
			}
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
	r, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, s := range r.Sections {
		for _, b := range s.Blocks {
			if b.Number > 0 {
				got = append(got, b.Number)
			}
		}
	}
	if fmt.Sprint(got) != "[1 2]" {
		t.Errorf("got numbers %v; want [1 2]", got)
	}
	// Footnote ids are prefixed by their section so both sections' [^1] coexist.
	for _, want := range []string{`id="s-definition-fn:1"`, `id="s-methodology-fn:1"`, `href="#s-methodology-fnref:1"`} {
		if !strings.Contains(r.Sections[0].HTML+r.Sections[1].HTML, want) {
			t.Errorf("got no %s in the sections' HTML", want)
		}
	}
}

func TestRenderTOC(t *testing.T) {
	doc := readDocFile(t, "testdata/render/toc.md")
	r, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
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

func TestRenderHeadingLevels(t *testing.T) {
	doc := &Document{Sections: []Section{{ID: "s", Text: "# one\n\n## two\n\n##### five", Paras: []string{"p1", "p2", "p3"}}}}
	r, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"<h3 ", "<h4 ", "<h6 "} {
		if got := r.Sections[0].Blocks[i].HTML; !strings.HasPrefix(got, want) {
			t.Errorf("block %d: got %q; want prefix %q", i, got, want)
		}
	}
}

func TestRenderSection(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	full, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderSection(doc, "methodology")
	if err != nil {
		t.Fatal(err)
	}
	want := full.Sections[1]
	if got.HTML != want.HTML || got.Number != 2 || got.Anchor != "s-methodology" || got.Kind != Required {
		t.Errorf("got %+v; want %+v", *got, want)
	}
	if _, err := RenderSection(doc, "nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown section: got error %v; want ErrInvalid", err)
	}
}

func TestRenderTooLarge(t *testing.T) {
	doc := &Document{Sections: []Section{
		{ID: "a", Text: strings.Repeat("x", MaxRenderBytes/2)},
		{ID: "b", Text: strings.Repeat("y", MaxRenderBytes/2+1)},
	}}
	if _, err := Render(doc); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Render: got error %v; want ErrTooLarge", err)
	}
	if _, err := RenderSection(doc, "a"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("RenderSection: got error %v; want ErrTooLarge", err)
	}
	if _, err := RenderPage(doc, PageOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("RenderPage: got error %v; want ErrTooLarge", err)
	}
	doc.Sections[1].Text = doc.Sections[1].Text[1:]
	if _, err := Render(doc); err != nil {
		t.Errorf("at the limit: got error %v; want none", err)
	}
}

func TestRenderDoesNotChangeDocument(t *testing.T) {
	doc := readDocFile(t, "testdata/render/ids.md")
	before := fmt.Sprintf("%+v", *doc)
	if _, err := Render(doc); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprintf("%+v", *doc); after != before {
		t.Errorf("got document changed to %s; want %s", after, before)
	}
}

// TestRenderConcurrent checks that the shared parser, renderer and policy
// can be used from many goroutines at once (run with -race).
func TestRenderConcurrent(t *testing.T) {
	doc := readDocFile(t, "testdata/render/footnotes.md")
	want, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := Render(doc)
			if err != nil || got.BodyHTML() != want.BodyHTML() {
				t.Errorf("concurrent render: got %v, different HTML; want the same", err)
			}
		})
	}
	wg.Wait()
}

// largeDocument is about 10 sections of 150 mixed paragraphs each.
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
		if _, err := Render(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderTooComplex(t *testing.T) {
	tests := []struct {
		text string
		want error
	}{
		{strings.Repeat(">", MaxNesting) + " deep but allowed", nil},
		{strings.Repeat("> - ", MaxNesting/2) + "x", nil},
		{strings.Repeat("> ", MaxNesting+1) + "x", ErrTooComplex},
		{"ok\n\n" + strings.Repeat("1. ", MaxNesting+1) + "x", ErrTooComplex},
		{strings.Repeat("* ", MaxNesting+1) + "x", ErrTooComplex},
		{strings.Repeat("- ", 100), nil}, // a thematic break
		{strings.Repeat("-a ", 100), nil},
		{strings.Repeat("1.5 ", 100), nil},
		// A megabyte of ">" would take goldmark minutes; it must fail at once.
		{strings.Repeat(">", MaxRenderBytes-10), ErrTooComplex},
	}
	for _, tt := range tests {
		doc := &Document{Sections: []Section{{ID: "s", Title: "S", Text: tt.text}}}
		_, err := Render(doc)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%.40q…: got error %v; want %v", tt.text, err, tt.want)
		}
	}
}
