package editor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func outputTemplate(t testing.TB) *Template {
	t.Helper()
	tm, err := LookupTemplate("bpf-output")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// draftCases are drafts shaped like BPF outputs of different years and
// tools, with what their import must give: the title, the sections in
// order, and the target of some headings by line.
var draftCases = []struct {
	file     string
	title    string
	sections string
	targets  map[int]string
}{
	{"bpf-cybersecurity-draft.md", "IGF Best Practice Forum on Cybersecurity — Draft output report",
		"issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps custom-1",
		map[int]string{1: "title", 21: "methodology", 37: "case-studies", 41: "sub", 67: "policy-measures", 91: "insights", 101: "custom"}},
	// Google Docs: bold and escaped numbers in headings, {#h.id} anchors.
	{"gdocs-local-content-2019.md", "Best Practice Forum on Local Content: Draft Output 2019",
		"custom-1 custom-2 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps custom-3",
		map[int]string{5: "custom", 10: "custom", 14: "methodology", 20: "case-studies", 22: "sub", 33: "regional", 37: "next-steps", 42: "custom"}},
	// HedgeDoc: "Part" headings group the sections; a methodology
	// sub-heading inside Part I is found.
	{"hedgedoc-parts-2021.md", "BPF Cybersecurity 2021: Testing norms concepts against cybersecurity events",
		"custom-1 issues methodology custom-2 case-studies regional policy-measures what-worked custom-3 unintended-consequences unresolved insights next-steps custom-4",
		map[int]string{5: "custom", 7: "sub", 11: "sub", 15: "methodology", 19: "custom", 21: "case-studies", 23: "sub", 35: "custom", 37: "unresolved", 41: "next-steps", 45: "custom"}},
	// Etherpad: one flat level of "#", no title.
	{"etherpad-flat-2016.md", "Untitled draft",
		"custom-1 issues methodology case-studies regional policy-measures custom-2 what-worked unintended-consequences unresolved insights next-steps",
		map[int]string{1: "custom", 5: "methodology", 9: "case-studies", 14: "policy-measures", 18: "custom", 22: "next-steps"}},
	{"gender-regional-2018.md", "BPF Gender and Access: Draft 2018",
		"custom-1 custom-2 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps custom-3",
		map[int]string{3: "custom", 7: "custom", 11: "methodology", 13: "sub", 21: "case-studies", 31: "sub", 35: "regional", 39: "unintended-consequences", 43: "next-steps", 48: "custom"}},
	// CJK, Arabic, emoji, tables, nested lists and a footnote.
	{"multilingual-2022.md", "BPF Data and New Technologies 2022 — multilingual draft 🌍",
		"issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps",
		map[int]string{3: "issues", 9: "methodology", 17: "case-studies", 19: "sub", 23: "sub", 31: "insights"}},
	// Decimal numbering; methodology is a sub-heading of the introduction.
	{"numbered-deep-2020.md", "IGF BPF on Internet of Things, Big Data and Artificial Intelligence — 2020 draft",
		"custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights custom-2 next-steps",
		map[int]string{3: "custom", 5: "sub", 9: "methodology", 13: "case-studies", 23: "sub", 27: "policy-measures", 31: "insights", 35: "custom"}},
	// No title; a preamble line before the first heading.
	{"iot-no-title-2017.md", "Untitled draft",
		"issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps",
		map[int]string{3: "issues", 7: "methodology", 15: "case-studies", 21: "insights", 25: "next-steps"}},
	{"exec-summary-2023.md", "BPF Cybersecurity 2023 — Draft for public comment",
		"custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps custom-2",
		map[int]string{3: "custom", 7: "issues", 11: "methodology", 17: "sub", 25: "unintended-consequences", 29: "unresolved", 33: "insights", 37: "next-steps", 41: "custom"}},
}

func TestImportDrafts(t *testing.T) {
	tm := outputTemplate(t)
	for _, tt := range draftCases {
		t.Run(tt.file, func(t *testing.T) {
			src := readDraft(t, tt.file)
			d, rep, err := ImportMarkdown(src, tm, "d", ImportOptions{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Title != tt.title {
				t.Errorf("got title %q; want %q", d.Title, tt.title)
			}
			if got := strings.Join(sectionIDs(d), " "); got != tt.sections {
				t.Errorf("got sections\n%s\nwant\n%s", got, tt.sections)
			}
			for line, want := range tt.targets {
				i := slices.IndexFunc(rep.Mappings, func(m ImportMapping) bool { return m.Line == line })
				if i < 0 {
					t.Errorf("line %d: no mapping; want %s", line, want)
					continue
				}
				if m := rep.Mappings[i]; m.Target != want {
					t.Errorf("line %d %q: got %s (%s %s); want %s", line, m.Heading, m.Target, m.Match, m.Why, want)
				}
			}
			checkNothingLost(t, src, d, rep)
			if t.Failed() {
				t.Logf("report:\n%s", strings.Join(rep.Lines(), "\n"))
			}
		})
	}
}

func readDraft(t testing.TB, name string) string {
	t.Helper()
	src, err := os.ReadFile("testdata/drafts/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

func sectionIDs(d *Document) []string {
	var ids []string
	for _, s := range d.Sections {
		ids = append(ids, s.ID)
	}
	return ids
}

// checkNothingLost is the block accounting: every block of the draft is
// reported, and is where the report says — text unchanged in its
// section's text, headings as the title, a section title or a sub-heading
// of that section.
func checkNothingLost(t testing.TB, src string, d *Document, rep ImportReport) {
	t.Helper()
	clean, err := cleanImport(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(clean, "\n")
	covered := make([]bool, len(lines))
	for _, b := range rep.Blocks {
		for i := b.Line - 1; i < b.Line-1+b.Lines; i++ {
			if covered[i] {
				t.Errorf("line %d is in two blocks of the report", i+1)
			}
			covered[i] = true
		}
		s := d.Section(b.SectionID)
		switch b.As {
		case "marker":
			continue
		case "title":
			if !strings.Contains(lines[b.Line-1], d.Title) && plainHeading(strings.TrimLeft(lines[b.Line-1], "# ")) != d.Title {
				t.Errorf("line %d %q: reported as the title; the title is %q", b.Line, lines[b.Line-1], d.Title)
			}
			continue
		}
		if s == nil {
			t.Errorf("line %d: reported in section %q, which the document does not have", b.Line, b.SectionID)
			continue
		}
		if d.Number(s.ID) != b.Number {
			t.Errorf("line %d: reported number %d; the section is %d", b.Line, b.Number, d.Number(s.ID))
		}
		block := strings.Join(lines[b.Line-1:b.Line-1+b.Lines], "\n")
		switch b.As {
		case "text":
			if !strings.Contains(s.Text, block) {
				t.Errorf("line %d: block %q is not in section %s's text", b.Line, block, s.ID)
			}
		case "section heading":
			h := scanHeadings([]string{block})
			if len(h) != 1 {
				t.Errorf("line %d: %q reported as a heading", b.Line, block)
				continue
			}
			m := rep.Mappings[slices.IndexFunc(rep.Mappings, func(m ImportMapping) bool { return m.Line == b.Line })]
			switch {
			case s.Kind == Custom && s.Title != h[0].text && s.Title != exportedTitle(h[0].content):
				t.Errorf("line %d: custom section titled %q; want the heading's own %q", b.Line, s.Title, h[0].text)
			case m.Appended && !strings.Contains(s.Text, h[0].content):
				t.Errorf("line %d: appended heading %q is not in section %s's text", b.Line, h[0].content, s.ID)
			}
		case "sub-heading":
			h := scanHeadings([]string{block})
			if len(h) != 1 || !slices.Contains(strings.Split(s.Text, "\n"), strings.Repeat("#", subLevel(rep, b.Line))+" "+h[0].content) && !strings.Contains(s.Text, block) {
				t.Errorf("line %d: sub-heading %q is not in section %s's text", b.Line, block, s.ID)
			}
		default:
			t.Errorf("line %d: unknown placement %q", b.Line, b.As)
		}
	}
	for i, l := range lines {
		if strings.Trim(l, " \t") != "" && !covered[i] {
			t.Errorf("line %d %q is in no block of the report", i+1, l)
		}
	}
}

func subLevel(rep ImportReport, line int) int {
	for _, m := range rep.Mappings {
		if m.Line == line {
			return m.SubLevel
		}
	}
	return 0
}

// The person importing decides: any heading can go to a template section,
// become a custom section, stay a sub-heading or be the title.
func TestImportAssign(t *testing.T) {
	tm := outputTemplate(t)
	src := readDraft(t, "gdocs-local-content-2019.md")
	opts := ImportOptions{Assign: map[int]string{
		5:  "issues",     // Executive summary -> section 1
		10: AssignSub,    // 1. Introduction -> kept as a sub-heading of section 1
		37: AssignCustom, // Conclusions and recommendations -> kept as written
		42: "next-steps", // the annex -> section 10
	}}
	d, rep, err := ImportMarkdown(src, tm, "d", opts, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sectionIDs(d), " "), "issues methodology case-studies regional custom-1 policy-measures what-worked unintended-consequences unresolved insights next-steps"; got != want {
		t.Errorf("got sections %s; want %s", got, want)
	}
	issues := d.Section("issues").Text
	if !strings.HasPrefix(issues, "_This draft was written") || !strings.Contains(issues, "### 1\\. Introduction\n\nLocal content is") {
		t.Errorf("got issues text %q; want the preamble, the summary, then the introduction as ### ", issues)
	}
	if s := d.Section("custom-1"); s.Title != "5. Conclusions and recommendations" {
		t.Errorf("got custom title %q; want the heading as written", s.Title)
	}
	for _, m := range rep.Mappings {
		if _, ok := opts.Assign[m.Line]; ok && m.Match != "assigned" {
			t.Errorf("line %d: got match %q; want assigned", m.Line, m.Match)
		}
	}
	checkNothingLost(t, src, d, rep)

	for _, bad := range []map[int]string{{4: "issues"}, {5: "nope"}, {999: AssignSub}} {
		if _, _, err := ImportMarkdown(src, tm, "d", ImportOptions{Assign: bad}, time.Time{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("assign %v: got %v; want ErrInvalid", bad, err)
		}
	}
}

// Sub-headings keep their level relative to the section they fall in.
func TestImportSubHeadingLevels(t *testing.T) {
	src := "# T\n\n# Case studies\n\n## Kenya\n\n### Lessons\n\n## Brazil\n\n##### Deep\n"
	d, rep, err := ImportMarkdown(src, outputTemplate(t), "d", ImportOptions{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Section("case-studies").Text, "### Kenya\n\n#### Lessons\n\n### Brazil\n\n###### Deep"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	checkNothingLost(t, src, d, rep)
}

// Text before the first heading opens the first section; no section is
// invented for it.
func TestImportPreamble(t *testing.T) {
	src := "A one-line preamble.\n\n## Methodology\n\nM.\n"
	d, _, err := ImportMarkdown(src, outputTemplate(t), "d", ImportOptions{Title: "T"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sections) != 10 || d.Sections[0].Text != "A one-line preamble." {
		t.Errorf("got sections %v, first text %q; want the ten template sections, the preamble opening the first", sectionIDs(d), d.Sections[0].Text)
	}
}

func TestSplitNumber(t *testing.T) {
	tests := []struct {
		in     string
		n      int
		rest   string
		marked bool
	}{
		{"1. Definition", 1, "Definition", true},
		{"1) Definition", 1, "Definition", true},
		{"10: Next steps", 10, "Next steps", true},
		{"Section 1 — Definition", 1, "Definition", true},
		{"section 4 - Regional", 4, "Regional", true},
		{"Part IV. Regional", 4, "Regional", true},
		{"IX. Insights", 9, "Insights", true},
		{"3 Case studies", 3, "Case studies", false},
		{"3", 3, "", false},
		{"3.1 Subsection", 0, "3.1 Subsection", false},
		{"2025 in review", 0, "2025 in review", false},
		{"3rd round", 0, "3rd round", false},
		{"I think", 0, "I think", false},
		{"Ivory coast", 0, "Ivory coast", false},
		{"Acknowledgements", 0, "Acknowledgements", false},
	}
	for _, tt := range tests {
		n, rest, marked := splitNumber(tt.in)
		if n != tt.n || rest != tt.rest || marked != tt.marked {
			t.Errorf("splitNumber(%q) = %d, %q, %v; want %d, %q, %v", tt.in, n, rest, marked, tt.n, tt.rest, tt.marked)
		}
	}
}
func TestMatchHeading(t *testing.T) {
	tm := outputTemplate(t)
	tests := []struct {
		heading string
		want    string // section key, "" for no match
	}{
		// Exact and near-miss wordings.
		{"Definition of the issue(s) and overview of policy challenges", "issues"},
		{"DEFINITION OF THE ISSUES & OVERVIEW OF POLICY CHALLENGES!", "issues"},
		{"Defintion of the issue and overview of policy challenge", "issues"},
		{"Methodology", "methodology"},
		{"Our approach", "methodology"},
		{"Case studies", "case-studies"},
		{"Compilation of case studies and best practices from Africa, Asia and Latin America", "case-studies"},
		{"Regional specificites", "regional"},
		{"Policy measures", "policy-measures"},
		{"What worked", "what-worked"},
		{"Unintended consequences", "unintended-consequences"},
		{"Open questions", "unresolved"},
		{"Insights", "insights"},
		{"Lessons learnt", "insights"},
		{"Way forward", "next-steps"},
		// Numbers.
		{"3.", "case-studies"},
		{"Section 5", "policy-measures"},
		{"2. Our work this year", "methodology"},
		{"8) Unresolved", "unresolved"},
		{"2. Definition of the issues", "issues"}, // words win over a shifted number
		// Non-matches.
		{"Acknowledgements", ""},
		{"Executive summary", ""},
		{"Annex: list of contributors", ""},
		{"How we worked", "methodology"},
		{"1.2 Methodology", "methodology"},
		{"1\\. Introduction", ""},
		{"Part II: Findings", "insights"}, // matched here; import keeps a part heading unless its words are exact
		{"Part III", ""},
		{"5. Acknowledgements", ""},
		{"11. Regional", "regional"},
		{"Policy", ""}, // ambiguous
		{"Glossary of terms", ""},
	}
	for _, tt := range tests {
		idx, how, score, why := matchHeading(tt.heading, tm)
		got := ""
		if idx >= 0 {
			got = tm.Sections[idx].Key
		}
		if got != tt.want {
			t.Errorf("matchHeading(%q) = %q (%s, %.2f, %s); want %q", tt.heading, got, how, score, why, tt.want)
		}
	}
}

func TestImportInvalid(t *testing.T) {
	tm := outputTemplate(t)
	tests := []struct {
		name, src string
		want      error
	}{
		{"empty", "", ErrInvalid},
		{"blank", " \n\t\n", ErrInvalid},
		{"invalid UTF-8", "# T\n\n\xff\xfe text", ErrInvalid},
		{"binary", "PK\x03\x04\x00\x00", ErrInvalid},
		{"too large", strings.Repeat("a", Limits.ImportBytes+1), ErrLimit},
		{"section too large", "# T\n\n## Methodology\n\n" + strings.Repeat("a", Limits.SectionUnits+1), ErrLimit},
		{"too many sections", strings.Repeat("## Annex\n\ntext\n\n", Limits.Sections), ErrLimit},
		{"too many paragraphs", "## Methodology\n\n" + strings.Repeat("a\n\n", Limits.Paragraphs+1), ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, err := ImportMarkdown(tt.src, tm, "d", ImportOptions{Title: "T"}, time.Time{})
			if !errors.Is(err, tt.want) || d != nil {
				t.Errorf("got %v, %v; want an error wrapping %v and no document", d, err, tt.want)
			}
		})
	}
	if _, _, err := ImportMarkdown("# T", nil, "d", ImportOptions{}, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil template: got %v; want an error wrapping ErrInvalid", err)
	}
}

func TestImportLineEndings(t *testing.T) {
	d, _, err := ImportMarkdown("\uFEFF# T\r\n\r\n## Methodology\r\n\r\nLine one\r\nline two\rline three\r\n", outputTemplate(t), "d", ImportOptions{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Section("methodology").Text; got != "Line one\nline two\nline three" {
		t.Errorf("got %q; want %q", got, "Line one\nline two\nline three")
	}
	if d.Title != "T" {
		t.Errorf("got title %q; want T", d.Title)
	}
}

func TestImportOutOfOrder(t *testing.T) {
	_, rep, err := ImportMarkdown("## 5. Existing policy measures\n\nA.\n\n## 4. Regional\n\nB.\n", outputTemplate(t), "d", ImportOptions{Title: "T"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "'## 4. Regional' (line 5) came after") {
		t.Errorf("got notes %q; want one saying '## 4. Regional' came out of order", rep.Notes)
	}
}

// A block over a render limit is imported as it is, with a note that it
// will show as plain text.
func TestImportNotesDegradedBlocks(t *testing.T) {
	src := "## Methodology\n\n" + strings.Repeat(">", Limits.Nesting+1) + " deep\n"
	_, rep, err := ImportMarkdown(src, outputTemplate(t), "d", ImportOptions{Title: "T"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "nesting limit") }) {
		t.Errorf("got notes %q; want one about the nesting limit", rep.Notes)
	}
}

// FuzzImportMarkdown checks that import never panics and that the block
// accounting holds for any input.
func FuzzImportMarkdown(f *testing.F) {
	for _, c := range draftCases {
		if src, err := os.ReadFile("testdata/drafts/" + c.file); err == nil {
			f.Add(string(src))
		}
	}
	f.Add("# T\n\n## 1. Issues\n\ntext\n\n```\n## x\n")
	f.Add("pre\n\n# A\n\n### deep\n\n## B\n\n# C\n")
	f.Add("# Part I\n## Methodology\n### 1.2 Approach\n## Methodology\ntext")
	tm := outputTemplate(f)
	f.Fuzz(func(t *testing.T, src string) {
		d, rep, err := ImportMarkdown(src, tm, "d", ImportOptions{}, time.Time{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
				t.Fatalf("got %v; want nil or an error wrapping ErrInvalid or ErrLimit", err)
			}
			return
		}
		checkNothingLost(t, src, d, rep)
	})
}

var _ = fmt.Sprint
