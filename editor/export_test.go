package editor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

func TestExportMarkdown(t *testing.T) {
	tm, _ := LookupTemplate("meeting-summary")
	d := tm.NewDocument("m", "BPF Cybersecurity — virtual meeting 3", time.Time{})
	d.Section("meeting-details").Text = "\n\n- Date: 12 May 2025, 13:00 UTC\n- Platform: Zoom\n\n"
	d.Section("discussion").Text = "# Call for contributions\n\nThe call closes on 30 June.\n\n## Details\n\n```\n# not a heading\n```"
	d.Section("actions").Text = "    indented first line\nnext"
	if _, err := d.AddCustomSection("Annex", "Slides."); err != nil {
		t.Fatal(err)
	}
	want := `# BPF Cybersecurity — virtual meeting 3
<!-- bpfdraft: title -->

## 1. Meeting details
<!-- bpfdraft: section meeting-details -->

- Date: 12 May 2025, 13:00 UTC
- Platform: Zoom

## 2. Participants
<!-- bpfdraft: section participants -->

## 3. Summary of discussion
<!-- bpfdraft: section discussion -->

### Call for contributions

The call closes on 30 June.

#### Details

` + "```" + `
# not a heading
` + "```" + `

## 4. Agreed actions
<!-- bpfdraft: section actions -->

    indented first line
next

## 5. Next meeting
<!-- bpfdraft: section next-meeting -->

## 6. Annex
<!-- bpfdraft: section custom-1 -->

Slides.
`
	if got := ExportMarkdown(d); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// sameSections compares what the round trip promises to keep: ids,
// titles, kinds, order, and texts (without blank lines at the ends, with
// sub-headings at their level under the section).
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
		wantText := trimBlankLines(SubHeadings(w.Text))
		if g.ID != w.ID || g.Title != w.Title || g.Kind != w.Kind || g.Text != wantText {
			t.Errorf("section %d: got %q %q %s %q; want %q %q %s %q", i+1, g.ID, g.Title, g.Kind, g.Text, w.ID, w.Title, w.Kind, wantText)
		}
	}
}

// roundTrip checks import(export(d)) against d and that a second export
// is byte for byte the first.
func roundTrip(t *testing.T, d *Document, tm *Template) {
	t.Helper()
	md := ExportMarkdown(d)
	back, rep, err := ImportMarkdown(md, tm, d.ID, ImportOptions{}, time.Time{})
	if err != nil {
		t.Fatalf("import of the export: %v\n%s", err, md)
	}
	sameSections(t, back, d)
	if md2 := ExportMarkdown(back); md2 != md {
		t.Errorf("export(import(export(d))) differs from export(d):\n%s\n---\n%s", md2, md)
	}
	if t.Failed() {
		t.Fatalf("markdown:\n%s\nreport:\n%s", md, strings.Join(rep.Lines(), "\n"))
	}
}

func TestRoundTripDrafts(t *testing.T) {
	tm := outputTemplate(t)
	for _, c := range draftCases {
		t.Run(c.file, func(t *testing.T) {
			d, _, err := ImportMarkdown(readDraft(t, c.file), tm, "d", ImportOptions{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, d, tm)
		})
	}
}

func TestRoundTripTemplates(t *testing.T) {
	for _, tm := range Templates() {
		t.Run(tm.Name, func(t *testing.T) {
			d := tm.NewDocument("d", "A "+tm.Title, time.Time{})
			roundTrip(t, d, tm)
			for i := range d.Sections {
				d.Sections[i].Text = fmt.Sprintf("Text of %s.\n\n- a list\n- of things\n\n### A subheading\n\nMore.", d.Sections[i].ID)
			}
			if _, err := d.AddCustomSection("Acknowledgements", "Thanks to all."); err != nil {
				t.Fatal(err)
			}
			roundTrip(t, d, tm)
		})
	}
}

// TestRoundTripProperty exports random documents of each template, with
// random texts, sub-headings and custom sections, and imports them back.
func TestRoundTripProperty(t *testing.T) {
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, 0x62706664))
	n := 300
	if testing.Short() {
		n = 100
	}
	for range n {
		tm := Templates()[r.IntN(len(Templates()))]
		d := randomDocument(r, tm)
		t.Run("", func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("seed %d, template %s", seed, tm.Name)
				}
			}()
			roundTrip(t, d, tm)
		})
	}
}

// FuzzExportRoundTrip builds a document from fuzzed title and texts and
// checks that export(import(export(d))) is export(d) and that the import
// gives d's sections back.
func FuzzExportRoundTrip(f *testing.F) {
	f.Add("BPF 2026", "Text.\n\n### Sub", "## Too high\n\n#### deeper", "Annex", "```\nunclosed")
	f.Add("C #", "# a\n###### b", "", "Methodology", "[^1]\n\n[^1]: n")
	f.Add("**x**", "\tcode", "Title\n===", "1. Numbered", "<!-- c -->")
	tm := outputTemplate(f)
	f.Fuzz(func(t *testing.T, title, a, b, customTitle, customText string) {
		for _, s := range []string{title, a, b, customTitle, customText} {
			if !validText(s) {
				t.Skip()
			}
		}
		title, err := CheckTitle(title, "document title")
		if err != nil {
			t.Skip()
		}
		d := tm.NewDocument("d", title, time.Time{})
		d.Sections[0].Text = NormalizeText(a)
		d.Sections[2].Text = NormalizeText(b)
		if _, err := d.AddCustomSection(customTitle, customText); err != nil {
			t.Skip()
		}
		roundTrip(t, d, tm)
	})
}

// validText is what a document can hold and an export can carry: UTF-8
// without NUL, and without lines that pose as bpfdraft's export markers.
func validText(s string) bool {
	return !strings.ContainsAny(s, "\x00\uFEFF") && !strings.Contains(s, "bpfdraft:") && strings.ToValidUTF8(s, "") == s
}

// randomDocument builds a document of the template with random section
// texts, sub-headings and custom sections inserted anywhere (custom ids in
// any order, titles that may be a template section's or look like
// markdown).
func randomDocument(r *rand.Rand, tm *Template) *Document {
	d := tm.NewDocument("d", randomWords(r, 1+r.IntN(6)), time.Time{})
	customTitles := []string{"Acknowledgements", "Glossary", "Annex A: contributors", "Abbreviations", "About this report",
		"Disclaimer", "Foreword", "Methodology", "3. Case studies", "Part III: Looking ahead", "**Bold** title", "C#", "Notes #",
		"Executive summary {#h.x}", "1\\. Escaped", "数据治理", "حوكمة البيانات", "Emoji 🌍"}
	for range r.IntN(4) {
		s, _ := d.AddCustomSection(customTitles[r.IntN(len(customTitles))], "")
		c := *s
		d.Sections = d.Sections[:len(d.Sections)-1]
		at := r.IntN(len(d.Sections) + 1)
		d.Sections = append(d.Sections[:at], append([]Section{c}, d.Sections[at:]...)...)
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
		func() string { return "## " + randomWords(r, 2) + "\n\n# " + randomWords(r, 1) },
		func() string { return "```\nan unclosed fence" },
		func() string { return "Heading\n=======" },
		func() string { return "[^" + fmt.Sprint(r.IntN(3)) + "]: a note\n    continued" },
		func() string { return "<!-- a comment -->\n<div>raw</div>" },
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

// TestExportDropsLegacyStarter: documents made when templates put their
// prompt in the text as a comment export without it; the rest of the
// section, and a comment of the writers' own, stay.
func TestExportDropsLegacyStarter(t *testing.T) {
	tmpl, _ := LookupTemplate("bpf-output")
	doc := tmpl.NewDocument("d", "Old draft", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	var prompt string
	for _, ts := range tmpl.Sections {
		if ts.Key == "methodology" {
			prompt = ts.Prompt
		}
	}
	s := doc.Section("methodology")
	s.Prompt = "" // as stored before prompts were kept on sections
	s.Text = "<!-- " + prompt + " -->\n\nWe held six meetings.\n\n<!-- our own note -->"
	out := ExportMarkdown(doc)
	if strings.Contains(out, prompt) {
		t.Fatalf("the export holds the starter prompt:\n%s", out)
	}
	if !strings.Contains(out, "We held six meetings.") || !strings.Contains(out, "<!-- our own note -->") {
		t.Fatalf("the export lost the section's own text:\n%s", out)
	}
}
