package collab_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestImportPage walks the import page as a person would: upload a draft,
// see where each heading goes, put one elsewhere, import.
func TestImportPage(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	status, page := e.Call(t, "GET", "/import", "", "")
	if status != 200 || !strings.Contains(string(page), `<input type="file" id="file" name="file"`) || !strings.Contains(string(page), `<link rel="stylesheet" href="/assets/page.css">`) {
		t.Fatalf("GET /import: %d %s", status, page)
	}
	draft := "# Draft 2026\n\n## Executive summary\n\nShort.\n\n## How we worked\n\nMeetings.\n\n### Survey\n\nA survey.\n"
	resp, body := e.Multipart(t, "/import", map[string]string{"template": "bpf-output", "file": draft, "action": "preview"})
	if resp.StatusCode != 200 {
		t.Fatalf("preview: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<select id="assign-3" name="assign-3">`,
		`<option value="custom" selected>A new section of its own</option>`,
		`<option value="methodology" selected>2. Brief presentation`,
		`<option value="sub" selected>Keep as a sub-heading</option>`,
		`<option value="title" selected>`,
		"blocks of the draft, every one placed",
		`<textarea id="source" name="source"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	var list struct{ Documents []collabtest.Doc }
	e.GetJSON(t, "/api/documents", 200, &list)
	if len(list.Documents) != 0 {
		t.Fatalf("a preview stored %d documents; want none", len(list.Documents))
	}

	// The executive summary goes to section 1; then import.
	resp, body = e.Multipart(t, "/import", map[string]string{"template": "bpf-output", "previous-template": "bpf-output", "source": draft,
		"assign-1": "title", "assign-3": "issues", "assign-7": "methodology", "assign-11": "sub", "action": "import"})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/edit/") {
		t.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	var d collabtest.Doc
	e.GetJSON(t, "/api/documents/"+strings.TrimPrefix(resp.Header.Get("Location"), "/edit/"), 200, &d)
	if d.Title != "Draft 2026" || d.Sections[0].Text != "Short." || d.Sections[1].Text != "Meetings.\n\n### Survey\n\nA survey." || len(d.Sections) != 10 {
		t.Errorf("imported document: %+v", d)
	}

	// Errors come back on the page, with a summary, never a 500.
	for _, tc := range []struct {
		fields map[string]string
		status int
		want   string
	}{
		{map[string]string{"template": "bpf-output", "source": "  ", "action": "preview"}, 400, "Choose a Markdown file or paste the draft"},
		{map[string]string{"template": "nope", "source": "# x", "action": "preview"}, 400, "Choose a template"},
		{map[string]string{"template": "bpf-output", "source": strings.Repeat("a\n\n", editor.Limits.Paragraphs+1), "action": "preview"}, 413, "paragraphs limit"},
		{map[string]string{"template": "bpf-output", "title": strings.Repeat("t", 400), "source": "text", "action": "preview"}, 422, "title length limit"},
	} {
		resp, body := e.Multipart(t, "/import", tc.fields)
		if resp.StatusCode != tc.status || !strings.Contains(body, `class="error-summary"`) || !strings.Contains(body, tc.want) {
			t.Errorf("%v: got %d; want %d with an error summary saying %q", tc.fields["action"], resp.StatusCode, tc.status, tc.want)
		}
	}
}

// TestRenderCache: a version is rendered once and then served from the
// cache to every reader; an edit renders only the section it changed.
func TestRenderCache(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Cached")
	for range 3 {
		for _, path := range []string{"/d/" + d.ID, "/api/documents/" + d.ID + "/render", "/api/documents/" + d.ID + "/export?format=html"} {
			if status, _ := e.Call(t, "GET", path, "", ""); status != 200 {
				t.Fatalf("GET %s: %d", path, status)
			}
		}
	}
	if got := e.Server.Renders(); got != int64(len(d.Sections)) {
		t.Fatalf("after nine reads: %d section renders; want %d (each section once)", got, len(d.Sections))
	}
	ctx := t.Context()
	c, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), Key: collabtest.Key("writer")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Edit("methodology", func(string) []editor.Change { return []editor.Change{{From: 0, To: 0, Insert: "We met six times."}} })
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	_, page := e.Call(t, "GET", "/d/"+d.ID, "", "")
	if !bytes.Contains(page, []byte("We met six times.")) {
		t.Fatalf("reading view after an edit lacks it")
	}
	if got := e.Server.Renders(); got != int64(len(d.Sections))+1 {
		t.Errorf("after an edit of one section: %d renders; want %d", got, len(d.Sections)+1)
	}
}
