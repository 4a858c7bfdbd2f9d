package editor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestTemplatesLoad fails when an embedded template file is broken.
func TestTemplatesLoad(t *testing.T) {
	ts, err := loadTemplates(templateFiles, "templates")
	if err != nil {
		t.Fatalf("loading the embedded templates: %v", err)
	}
	var names []string
	for _, tm := range ts {
		names = append(names, tm.Name)
	}
	want := []string{"bpf-output", "bpf-proposal", "meeting-summary"}
	if !slices.Equal(names, want) {
		t.Errorf("got templates %v; want %v", names, want)
	}
	for i, tm := range Templates() {
		if tm.Name != want[i] {
			t.Errorf("Templates()[%d] = %q; want %q", i, tm.Name, want[i])
		}
	}
}

// TestBPFOutputMatchesModalities pins the bpf-output template to section IV
// of the IGF BPF Definitions, Procedures and Modalities.
func TestBPFOutputMatchesModalities(t *testing.T) {
	want := []struct {
		key, title string
		kind       SectionKind
	}{
		{"issues", "Definition of the issue(s) and overview of policy challenges", Required},
		{"methodology", "Brief presentation of the used methodology and BPF activities", Required},
		{"case-studies", "Compilation of collected case studies and/or best practices", Required},
		{"regional", "Regional specificities observed (e.g. Internet industry development)", Recommended},
		{"policy-measures", "Existing policy measures and private sector initiatives, impediments", Recommended},
		{"what-worked", "What worked well, identifying common effective practices", Recommended},
		{"unintended-consequences", "Unintended consequences of policy interventions, good and bad", Recommended},
		{"unresolved", "Unresolved issues where further multistakeholder cooperation is needed", Recommended},
		{"insights", "Insights gained as a result of the experience", Recommended},
		{"next-steps", "Proposed steps for further multistakeholder dialogue, collaboration, and joint action", Recommended},
	}
	tm, err := LookupTemplate("bpf-output")
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Sections) != len(want) {
		t.Fatalf("got %d sections; want %d", len(tm.Sections), len(want))
	}
	for i, w := range want {
		s := tm.Sections[i]
		if s.Key != w.key || s.Title != w.title || s.Kind != w.kind {
			t.Errorf("section %d: got %q %q %s; want %q %q %s", i+1, s.Key, s.Title, s.Kind, w.key, w.title, w.kind)
		}
		if n := strings.Count(s.Guidance, ". ") + 1; n > 3 {
			t.Errorf("section %d: guidance has %d sentences; want 1-3", i+1, n)
		}
	}
}

func TestLookupTemplateUnknown(t *testing.T) {
	_, err := LookupTemplate("bpf-outptu")
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("got %v; want an error wrapping ErrUnknownTemplate", err)
	}
	for _, name := range []string{"bpf-output", "bpf-proposal", "meeting-summary"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("got %q; want the known name %q listed", err, name)
		}
	}
}

func TestNewDocument(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tm := range Templates() {
		t.Run(tm.Name, func(t *testing.T) {
			d := tm.NewDocument("doc-1", "A title", now)
			if d.ID != "doc-1" || d.Title != "A title" || d.Template != tm.Name || !d.Created.Equal(now) || !d.Updated.Equal(now) {
				t.Errorf("got id %q title %q template %q created %v; want doc-1, A title, %s, %v", d.ID, d.Title, d.Template, d.Created, tm.Name, now)
			}
			if len(d.Sections) != len(tm.Sections) {
				t.Fatalf("got %d sections; want %d", len(d.Sections), len(tm.Sections))
			}
			for i, ts := range tm.Sections {
				s := d.Sections[i]
				if s.ID != ts.Key || s.Title != ts.Title || s.Kind != ts.Kind || s.Guidance != ts.Guidance || s.Prompt != ts.Prompt || s.Text != "" {
					t.Errorf("section %d: got %+v; want it made from %+v", i+1, s, ts)
				}
				if len(s.Paras) != len(Paragraphs(s.Text)) {
					t.Errorf("section %d: got %d paragraph ids; want %d", i+1, len(s.Paras), len(Paragraphs(s.Text)))
				}
			}
			// A new document is never complete: prompts are not text.
			if c := Check(d); c.Complete {
				t.Errorf("a new %s document checks complete; want errors for its empty required sections", tm.Name)
			}
		})
	}
}

func TestBrokenTemplates(t *testing.T) {
	good := `{"name":"t","title":"T","description":"d","sections":[{"key":"a","title":"A","kind":"required","guidance":"g"}]}`
	tests := []struct {
		name, file, data string
	}{
		{"syntax", "t.json", `{"name":"t",`},
		{"unknown field", "t.json", strings.Replace(good, `"description"`, `"descripton"`, 1)},
		{"name differs from file", "u.json", good},
		{"no sections", "t.json", `{"name":"t","title":"T","sections":[]}`},
		{"bad key", "t.json", strings.Replace(good, `"key":"a"`, `"key":"A b"`, 1)},
		{"custom key", "t.json", strings.Replace(good, `"key":"a"`, `"key":"custom-1"`, 1)},
		{"bad kind", "t.json", strings.Replace(good, `"required"`, `"custom"`, 1)},
		{"no guidance", "t.json", strings.Replace(good, `"guidance":"g"`, `"guidance":" "`, 1)},
		{"prompt as a comment", "t.json", strings.Replace(good, `"guidance":"g"`, `"guidance":"g","prompt":"<!-- Write here -->"`, 1)},
		{"duplicate key", "t.json", strings.Replace(good, `]}`, `,{"key":"a","title":"B","kind":"recommended","guidance":"g"}]}`, 1)},
		{"unknown rule", "t.json", strings.Replace(good, `]}`, `],"rules":[{"kind":"words","section":"a","min":1}]}`, 1)},
		{"rule on missing section", "t.json", strings.Replace(good, `]}`, `],"rules":[{"kind":"facilitators","section":"b","min":2}]}`, 1)},
		{"rule min_mag above min", "t.json", strings.Replace(good, `]}`, `],"rules":[{"kind":"facilitators","section":"a","min":1,"min_mag":2}]}`, 1)},
		{"two-line title", "t.json", strings.Replace(good, `"title":"A"`, `"title":"A\nB"`, 1)},
	}
	if _, err := loadTemplates(fstest.MapFS{"x/t.json": {Data: []byte(good)}}, "x"); err != nil {
		t.Fatalf("the good template fails: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadTemplates(fstest.MapFS{"x/" + tt.file: {Data: []byte(tt.data)}}, "x")
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v; want an error wrapping ErrInvalid", err)
			}
		})
	}
}
