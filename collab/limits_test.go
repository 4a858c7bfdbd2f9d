package collab_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestLimitsTable goes through the table of limits over HTTP: input over
// a limit is refused with 413 or 422 and a message naming the limit,
// nothing is stored, and nothing answers 500.
func TestLimitsTable(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Kept")
	L := editor.Limits
	longTitle := strings.Repeat("t", L.TitleBytes+1)
	importURL := func(q string) string { return "/api/documents/import?template=bpf-output&" + q }
	manySections := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "## Annex %d\n\ntext\n\n", i)
		}
		return b.String()
	}
	bigSections := func(n, size int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "## Annex %d\n\n%s\n\n", i, strings.Repeat("a", size))
		}
		return b.String()
	}
	sectionJSON := func(title, text string) string {
		b, _ := json.Marshal(map[string]string{"title": title, "text": text})
		return string(b)
	}
	cases := []struct {
		limit string
		c     apiCall
		want  int
	}{
		{"import size", apiCall{"POST", importURL("title=T"), "text/markdown", strings.Repeat("a", L.ImportBytes+1)}, 413},
		{"request body", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"` + strings.Repeat("x", L.BodyBytes) + `"}`}, 413},
		{"title length", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"` + longTitle + `"}`}, 422},
		{"title length", apiCall{"POST", importURL("title=" + longTitle), "text/markdown", "## Methodology\n\ntext\n"}, 422},
		{"title length", apiCall{"POST", "/api/documents/" + d.ID + "/sections", "application/json", sectionJSON(longTitle, "")}, 422},
		{"sections", apiCall{"POST", importURL("title=T"), "text/markdown", manySections(L.Sections)}, 422},
		{"section size", apiCall{"POST", importURL("title=T"), "text/markdown", bigSections(1, L.SectionUnits+1)}, 413},
		{"section size", apiCall{"POST", "/api/documents/" + d.ID + "/sections", "application/json", sectionJSON("Annex", strings.Repeat("a", L.SectionUnits+1))}, 413},
		{"document size", apiCall{"POST", importURL("title=T"), "text/markdown", bigSections(L.DocumentUnits/L.SectionUnits+1, L.SectionUnits-10)}, 413},
		{"paragraphs", apiCall{"POST", importURL("title=T"), "text/markdown", "## Methodology\n\n" + strings.Repeat("a\n\n", L.Paragraphs+1)}, 413},
	}
	for _, tc := range cases {
		t.Run(tc.limit, func(t *testing.T) {
			status, data := e.Call(t, tc.c.method, tc.c.path, tc.c.contentType, tc.c.body)
			var e apiError
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatalf("body is not a JSON error: %v\n%.300s", err, data)
			}
			if status != tc.want || !strings.Contains(e.Error.Message, tc.limit) {
				t.Errorf("got %d %q; want %d with a message naming the %s limit", status, e.Error.Message, tc.want, tc.limit)
			}
		})
	}
	// The section count limit on a document that has reached it.
	full := e.CreateDoc(t, "bpf-output", "Full")
	for i := len(full.Sections); i < L.Sections; i++ {
		e.PostJSON(t, "/api/documents/"+full.ID+"/sections", map[string]string{"title": fmt.Sprintf("Annex %d", i)}, 201, nil)
	}
	status, data := e.Call(t, "POST", "/api/documents/"+full.ID+"/sections", "application/json", `{"title":"One too many"}`)
	if status != 422 || !strings.Contains(string(data), "sections limit") {
		t.Errorf("section over the count: got %d %s; want 422 naming the sections limit", status, data)
	}

	var list struct{ Documents []struct{ ID string } }
	e.GetJSON(t, "/api/documents", 200, &list)
	if len(list.Documents) != 2 {
		t.Errorf("refused requests stored documents: got %d; want 2", len(list.Documents))
	}
	var got collabtest.Doc
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &got)
	if len(got.Sections) != 10 || got.Seq != 0 {
		t.Errorf("refused requests changed the document: %d sections, seq %d", len(got.Sections), got.Seq)
	}
}

// TestPathologicalInputsRender: what goldmark is slow on, or what blows up
// its output, is stored as typed and rendered with the block in question
// as plain text: the public page, the render API and the export answer
// 200, never 500.
func TestPathologicalInputsRender(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	inputs := map[string]string{
		"nesting":       strings.Repeat(">", 33) + " deep",
		"emphasis runs": strings.Repeat("*a_", 33000),
		"link openers":  strings.Repeat("[a](b", 20000),
		"table cells":   "|" + strings.Repeat("a|", 300) + "\n|" + strings.Repeat("-|", 300) + "\n" + strings.Repeat("a\n", 3000),
	}
	for name, text := range inputs {
		t.Run(name, func(t *testing.T) {
			q := url.Values{"title": {name}}
			status, data := e.Call(t, "POST", "/api/documents/import?"+q.Encode(), "text/markdown", "Before.\n\n## Methodology\n\n"+text+"\n\nAfter.\n")
			if status != 201 {
				t.Fatalf("import: %d %.300s", status, data)
			}
			var out struct{ Document collabtest.Doc }
			if err := json.Unmarshal(data, &out); err != nil {
				t.Fatal(err)
			}
			id := out.Document.ID
			for _, path := range []string{"/d/" + id, "/api/documents/" + id + "/render", "/api/documents/" + id + "/export?format=html"} {
				status, body := e.Call(t, "GET", path, "", "")
				if status != 200 {
					t.Fatalf("GET %s: %d", path, status)
				}
				if !strings.Contains(string(body), name+" limit") || !strings.Contains(string(body), "After.") {
					t.Errorf("GET %s: want a note naming the %s limit and the rest of the page rendered", path, name)
				}
				if len(body) > 10<<20 {
					t.Errorf("GET %s: %d bytes; want at most 10 MB", path, len(body))
				}
			}
		})
	}
}
