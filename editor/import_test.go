package editor

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func outputTemplate(t *testing.T) *Template {
	t.Helper()
	tm, err := LookupTemplate("bpf-output")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestImportDraft(t *testing.T) {
	src, err := os.ReadFile("testdata/drafts/bpf-cybersecurity-draft.md")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	d, rep, err := ImportMarkdown(string(src), outputTemplate(t), "cyber", "", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Lines() {
		t.Log(l)
	}
	if want := "IGF Best Practice Forum on Cybersecurity — Draft output report"; d.Title != want {
		t.Errorf("got title %q; want %q", d.Title, want)
	}
	want := []struct{ heading, id, match string }{
		{"", "custom-1", "preamble"},
		{"## 1. Definition of the issues and overview of the policy challenges", "issues", "number and title"},
		{"## 2) Methodology and BPF activities", "methodology", "number and title"},
		{"## Section 3 — Case studies and best practices", "case-studies", "number and title"},
		{"## 4. Regional Specificities", "regional", "number and title"},
		{"## Existing policy measures, private-sector initiatives and impediments", "policy-measures", "title"},
		{"## 6. What worked well: common effective practices", "what-worked", "number and title"},
		{"## 7. Unintended consequences (good and bad)", "unintended-consequences", "number and title"},
		{"## Unresolved issues requiring further multistakeholder cooperation", "unresolved", "title"},
		{"## 9. Lessons learned", "insights", "number and title"},
		{"## 10. Next steps for multistakeholder dialogue and joint action", "next-steps", "number and title"},
		{"## Acknowledgements", "custom-2", "custom"},
	}
	if len(rep.Mappings) != len(want) {
		t.Fatalf("got %d mappings; want %d", len(rep.Mappings), len(want))
	}
	for i, w := range want {
		m := rep.Mappings[i]
		if m.Heading != w.heading || m.SectionID != w.id || m.Match != w.match {
			t.Errorf("mapping %d: got %q -> %s (%s); want %q -> %s (%s)", i, m.Heading, m.SectionID, m.Match, w.heading, w.id, w.match)
		}
		if m.Number != d.Number(m.SectionID) {
			t.Errorf("mapping %d: got number %d; want %d", i, m.Number, d.Number(m.SectionID))
		}
	}
	var ids []string
	for _, s := range d.Sections {
		ids = append(ids, s.ID)
	}
	if got, want := strings.Join(ids, " "), "custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps custom-2"; got != want {
		t.Errorf("got sections %s; want %s", got, want)
	}
	if s := d.Section("custom-1"); s.Title != PreambleTitle || !strings.HasPrefix(s.Text, "*Draft for public comment.") {
		t.Errorf("got preamble %q %.40q; want %q with the text before the first heading", s.Title, s.Text, PreambleTitle)
	}
	if s := d.Section("custom-2"); s.Title != "Acknowledgements" || s.Kind != Custom {
		t.Errorf("got %q (%s); want Acknowledgements (custom)", s.Title, s.Kind)
	}
	if len(rep.Empty) != 0 {
		t.Errorf("got empty sections %q; want none", rep.Empty)
	}
	if !d.Created.Equal(now) || d.Template != "bpf-output" || d.ID != "cyber" {
		t.Errorf("got created %v template %q id %q; want %v bpf-output cyber", d.Created, d.Template, d.ID, now)
	}
	if !strings.Contains(d.Section("case-studies").Text, "### 3.1 Coordinated vulnerability disclosure") {
		t.Errorf("the deeper heading ### 3.1 is not in the case studies text")
	}
	assertNoTextLost(t, string(src), d)
	for _, s := range d.Sections {
		if len(s.Paras) != len(Paragraphs(s.Text)) {
			t.Errorf("section %s: got %d paragraph ids; want %d", s.ID, len(s.Paras), len(Paragraphs(s.Text)))
		}
	}
}

// assertNoTextLost checks that every line of src other than the title and
// section headings appears in a section's text.
func assertNoTextLost(t *testing.T, src string, d *Document) {
	t.Helper()
	var all strings.Builder
	for _, s := range d.Sections {
		all.WriteString(s.Text + "\n")
	}
	for i, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "# ") || strings.HasPrefix(l, "## ") {
			continue
		}
		if !strings.Contains(all.String(), l) {
			t.Errorf("line %d %q is not in the imported document", i+1, l)
		}
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

func TestImportOutline(t *testing.T) {
	tm := outputTemplate(t)
	tests := []struct {
		name, src, title string
		wantTitle        string
		wantIDs          string
	}{
		{"H1 title then H2 sections", "# My draft\n\nIntro.\n\n## 1. Issues\n\nA.\n\n### Detail\n\nB.\n", "", "My draft", "custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"H1 sections", "# 1. Issues\n\nA.\n\n## Detail\n\n# Acknowledgements\n\nThanks.\n", "", "Untitled draft", "issues custom-1 methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"lone H1 is the title", "# Only a title\n\nSome text.\n", "", "Only a title", "custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"given title wins", "# Draft v3\n\n## Methodology\n\nM.\n", "Final title", "Final title", "issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"no headings", "Just some text.\n\nAnd more.", "T", "T", "custom-1 issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"heading in a code fence", "## 1. Issues\n\n```md\n## Acknowledgements\n```\n\n~~~\n## 2. Methodology\n~~~\n", "T", "T", "issues methodology case-studies regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
		{"custom after its predecessor", "## Case studies\n\nC.\n\n## Glossary\n\nG.\n\n## Definition of the issues\n\nI.\n", "T", "T", "issues methodology case-studies custom-1 regional policy-measures what-worked unintended-consequences unresolved insights next-steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, rep, err := ImportMarkdown(tt.src, tm, "d", tt.title, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range d.Sections {
				ids = append(ids, s.ID)
			}
			if d.Title != tt.wantTitle || strings.Join(ids, " ") != tt.wantIDs {
				t.Errorf("got title %q, sections %s; want %q, %s\nreport:\n%s", d.Title, strings.Join(ids, " "), tt.wantTitle, tt.wantIDs, strings.Join(rep.Lines(), "\n"))
			}
			assertNoTextLost(t, tt.src, d)
		})
	}
}

func TestImportDuplicateSection(t *testing.T) {
	src := "# T\n\n## 3. Case studies\n\nFirst.\n\n## Glossary\n\nG.\n\n## More case studies\n\nSecond.\n"
	d, rep, err := ImportMarkdown(src, outputTemplate(t), "d", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Section("case-studies").Text, "First.\n\n### More case studies\n\nSecond."; got != want {
		t.Errorf("got case studies text %q; want %q", got, want)
	}
	if m := rep.Mappings[2]; !m.Appended || m.SectionID != "case-studies" {
		t.Errorf("got mapping %+v; want appended to case-studies", m)
	}
	lines := strings.Join(rep.Lines(), "\n")
	for _, want := range []string{
		"'## 3. Case studies' -> 3. Compilation of collected case studies and/or best practices (matched by number and title)",
		"'## More case studies' -> 3. Compilation of collected case studies and/or best practices (matched by title; appended to the text already there)",
		"'## Glossary' -> 4. Glossary (custom section: no template section with a similar title)",
		"no text for: 1. Definition of the issue(s)",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("got report\n%s\nwant a line containing %q", lines, want)
		}
	}
}

func TestImportInvalid(t *testing.T) {
	tm := outputTemplate(t)
	tests := []struct{ name, src string }{
		{"empty", ""},
		{"blank", " \n\t\n"},
		{"invalid UTF-8", "# T\n\n\xff\xfe text"},
		{"binary", "PK\x03\x04\x00\x00"},
		{"too large", strings.Repeat("a", MaxImportSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, err := ImportMarkdown(tt.src, tm, "d", "T", time.Time{})
			if !errors.Is(err, ErrInvalid) || d != nil {
				t.Errorf("got %v, %v; want an error wrapping ErrInvalid and no document", d, err)
			}
		})
	}
	if _, _, err := ImportMarkdown("# T", nil, "d", "T", time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil template: got %v; want an error wrapping ErrInvalid", err)
	}
}

func TestImportLineEndings(t *testing.T) {
	d, _, err := ImportMarkdown("\uFEFF# T\r\n\r\n## Methodology\r\n\r\nLine one\r\nline two\r\n", outputTemplate(t), "d", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Section("methodology").Text; got != "Line one\nline two" {
		t.Errorf("got %q; want %q", got, "Line one\nline two")
	}
	if d.Title != "T" {
		t.Errorf("got title %q; want T", d.Title)
	}
}

func TestImportOutOfOrder(t *testing.T) {
	_, rep, err := ImportMarkdown("## 5. Existing policy measures\n\nA.\n\n## 4. Regional\n\nB.\n", outputTemplate(t), "d", "T", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "'## 4. Regional' (line 5) came after") {
		t.Errorf("got notes %q; want one saying '## 4. Regional' came out of order", rep.Notes)
	}
}

// FuzzImportMarkdown checks that import never panics and never drops a
// line that is not a heading.
func FuzzImportMarkdown(f *testing.F) {
	if src, err := os.ReadFile("testdata/drafts/bpf-cybersecurity-draft.md"); err == nil {
		f.Add(string(src))
	}
	f.Add("# T\n\n## 1. Issues\n\ntext\n\n```\n## x\n")
	f.Add("pre\n\n# A\n\n### deep\n\n## B\n\n# C\n")
	tm, err := LookupTemplate("bpf-output")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		d, _, err := ImportMarkdown(src, tm, "d", "", time.Time{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v; want nil or an error wrapping ErrInvalid", err)
			}
			return
		}
		clean, _ := cleanImport(src)
		var all strings.Builder
		for _, s := range d.Sections {
			all.WriteString(s.Text + "\n")
		}
		for _, l := range strings.Split(clean, "\n") {
			if strings.Trim(l, " \t") == "" || atxHeading.MatchString(l) {
				continue
			}
			if !strings.Contains(all.String(), strings.TrimSpace(l)) {
				t.Fatalf("line %q is not in the imported document", l)
			}
		}
	})
}

func TestImportTooManySections(t *testing.T) {
	src := strings.Repeat("## Annex\n\ntext\n\n", MaxImportSections+1)
	if _, _, err := ImportMarkdown(src, outputTemplate(t), "d", "T", time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("got %v; want an error wrapping ErrInvalid", err)
	}
	src = strings.Repeat("### Annex\n\ntext\n\n", MaxImportSections+1) // not sections: no limit
	if _, _, err := ImportMarkdown("# T\n\n## Annex\n\n"+src, outputTemplate(t), "d", "T", time.Time{}); err != nil {
		t.Errorf("got %v; want deeper headings accepted", err)
	}
}
