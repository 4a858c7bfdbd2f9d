package editor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExportMarkdown(t *testing.T) {
	tm, _ := LookupTemplate("meeting-summary")
	d := tm.NewDocument("m", "BPF Cybersecurity — virtual meeting 3", time.Time{})
	d.Section("meeting-details").Text = "\n\n- Date: 12 May 2025, 13:00 UTC\n- Platform: Zoom\n\n"
	d.Section("participants").Text = ""
	d.Section("discussion").Text = "### Call for contributions\n\nThe call closes on 30 June."
	d.Section("actions").Text = "    indented first line\nnext"
	if _, err := d.AddCustomSection("Annex", "Slides."); err != nil {
		t.Fatal(err)
	}
	want := `# BPF Cybersecurity — virtual meeting 3

## 1. Meeting details

- Date: 12 May 2025, 13:00 UTC
- Platform: Zoom

## 2. Participants

## 3. Summary of discussion

### Call for contributions

The call closes on 30 June.

## 4. Agreed actions

    indented first line
next

## 5. Next meeting

## 6. Annex

Slides.
`
	if got := ExportMarkdown(d); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// sameSections compares what the round trip promises to keep.
func sameSections(t *testing.T, got, want *Document) {
	t.Helper()
	if got.Title != want.Title {
		t.Errorf("got title %q; want %q", got.Title, want.Title)
	}
	if len(got.Sections) != len(want.Sections) {
		t.Fatalf("got %d sections %v; want %d %v", len(got.Sections), sectionIDs(got), len(want.Sections), sectionIDs(want))
	}
	for i := range want.Sections {
		g, w := got.Sections[i], want.Sections[i]
		if g.ID != w.ID || g.Title != w.Title || g.Kind != w.Kind || g.Text != trimBlankLines(w.Text) {
			t.Errorf("section %d: got %q %q %s %q; want %q %q %s %q", i+1, g.ID, g.Title, g.Kind, g.Text, w.ID, w.Title, w.Kind, trimBlankLines(w.Text))
		}
	}
}

func sectionIDs(d *Document) []string {
	var ids []string
	for _, s := range d.Sections {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestRoundTripImportExportImport(t *testing.T) {
	src, err := os.ReadFile("testdata/drafts/bpf-cybersecurity-draft.md")
	if err != nil {
		t.Fatal(err)
	}
	tm := outputTemplate(t)
	d1, _, err := ImportMarkdown(string(src), tm, "d", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	md := ExportMarkdown(d1)
	d2, rep, err := ImportMarkdown(md, tm, "d", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameSections(t, d2, d1)
	for _, m := range rep.Mappings {
		if m.Appended {
			t.Errorf("re-import appended %q; want every section once", m.Heading)
		}
	}
	if md2 := ExportMarkdown(d2); md2 != md {
		t.Errorf("the second export differs from the first:\n%s\n---\n%s", md2, md)
	}
}

func TestRoundTripTemplates(t *testing.T) {
	for _, tm := range Templates() {
		t.Run(tm.Name, func(t *testing.T) {
			d := tm.NewDocument("d", "A "+tm.Title, time.Time{})
			back, _, err := ImportMarkdown(ExportMarkdown(d), tm, "d", "", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			sameSections(t, back, d) // no text: prompts are not exported

			for i := range d.Sections {
				d.Sections[i].Text = fmt.Sprintf("Text of %s.\n\n- a list\n- of things\n\n### A subheading\n\nMore.", d.Sections[i].ID)
			}
			if _, err := d.AddCustomSection("Acknowledgements", "Thanks to all."); err != nil {
				t.Fatal(err)
			}
			back, _, err = ImportMarkdown(ExportMarkdown(d), tm, "d", "", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			sameSections(t, back, d)
		})
	}
}

// TestRoundTripProperty exports random documents of each template, with
// random texts and custom sections, and imports them back.
func TestRoundTripProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x62706664))
	for range 300 {
		tm := Templates()[r.IntN(len(Templates()))]
		d := randomDocument(r, tm)
		md := ExportMarkdown(d)
		back, rep, err := ImportMarkdown(md, tm, d.ID, "", time.Time{})
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, md)
		}
		sameSections(t, back, d)
		if t.Failed() {
			t.Fatalf("seed %d: template %s, markdown:\n%s\nreport:\n%s", seed, tm.Name, md, strings.Join(rep.Lines(), "\n"))
		}
	}
}

// randomDocument builds a document of the template with random section
// texts and custom sections inserted anywhere, keeping to what
// ExportMarkdown promises to round-trip: custom titles unlike template
// titles, no "#" or "##" headings in texts, fences closed.
func randomDocument(r *rand.Rand, tm *Template) *Document {
	d := tm.NewDocument("d", randomWords(r, 1+r.IntN(6)), time.Time{})
	customTitles := []string{"Acknowledgements", "Glossary", "Annex A: contributors", "Abbreviations", "About this report", "Disclaimer", "Foreword"}
	for range r.IntN(4) {
		s, _ := d.AddCustomSection(customTitles[r.IntN(len(customTitles))], "")
		c := *s
		d.Sections = d.Sections[:len(d.Sections)-1]
		at := r.IntN(len(d.Sections) + 1)
		d.Sections = append(d.Sections[:at], append([]Section{c}, d.Sections[at:]...)...)
	}
	// Custom ids in document order, as ImportMarkdown numbers them.
	n := 0
	for i := range d.Sections {
		if d.Sections[i].Kind == Custom {
			n++
			d.Sections[i].ID = fmt.Sprintf("custom-%d", n)
		}
	}
	for i := range d.Sections {
		d.Sections[i].Text = randomText(r)
	}
	return d
}

func randomText(r *rand.Rand) string {
	blocks := []func() string{
		func() string { return randomWords(r, 1+r.IntN(30)) + "." },
		func() string { return "- " + randomWords(r, 3) + "\n- " + randomWords(r, 4) + "\n  continued" },
		func() string { return "1. " + randomWords(r, 2) + "\n2) " + randomWords(r, 2) },
		func() string { return "### " + randomWords(r, 2) },
		func() string { return "#### 3.1 " + randomWords(r, 2) },
		func() string { return "| a | b |\n|---|--:|\n| " + randomWords(r, 1) + " | 2 |" },
		func() string { return "```\n## not a heading\n\n# nor this\n```" },
		func() string { return "<!-- " + randomWords(r, 3) + " -->" },
		func() string {
			return "Text with a footnote.[^" + fmt.Sprint(r.IntN(9)) + "]\n\n[^1]: " + randomWords(r, 3)
		},
		func() string { return "    indented code\n\n\tand a tab" },
		func() string { return "> " + randomWords(r, 5) + "\n> — " + randomWords(r, 2) },
		func() string { return "   " },
		func() string { return "Émigré naïve 日本語 👩🏽‍💻 — “quoted”" },
	}
	var parts []string
	for range r.IntN(6) {
		parts = append(parts, blocks[r.IntN(len(blocks))]())
	}
	sep := []string{"\n\n", "\n\n\n", "\n \n"}[r.IntN(3)]
	text := strings.Join(parts, sep)
	if r.IntN(4) == 0 {
		text = "\n\n" + text + "\n"
	}
	return text
}

func randomWords(r *rand.Rand, n int) string {
	words := []string{"internet", "governance", "multistakeholder", "norms", "capacity", "trust", "operators", "access", "data", "privacy", "routing", "dialogue", "IGF", "2025", "open", "bottom-up"}
	out := make([]string, n)
	for i := range out {
		out[i] = words[r.IntN(len(words))]
	}
	return strings.Join(out, " ")
}
