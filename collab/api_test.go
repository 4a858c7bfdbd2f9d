package collab_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

// newTestServer builds the server exactly as main does, on a bbolt store
// in a temporary directory, behind a real HTTP server.
type apiCall struct {
	method, path, contentType, body string
}

// apiError is the body of every error answer of the JSON API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestAPIDocumentLifecycle(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	var bpf struct{ ID string }
	e.PostJSON(t, "/api/bpfs", map[string]any{"name": "Cybersecurity", "year": 2026, "meeting_date": "2026-06-22"}, 201, &bpf)
	var d collabtest.Doc
	e.PostJSON(t, "/api/documents", map[string]string{"template": "bpf-output", "title": "Output 2026", "bpf": bpf.ID}, 201, &d)
	if len(d.Sections) != 10 || d.Sections[0].Kind != "required" || d.Sections[3].Kind != "recommended" {
		t.Fatalf("new bpf-output document: %+v", d.Sections)
	}

	var got collabtest.Doc
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &got)
	if got.Title != "Output 2026" || got.BPF != bpf.ID {
		t.Fatalf("GET document = %+v", got)
	}
	var list struct{ Documents []struct{ ID string } }
	e.GetJSON(t, "/api/documents?bpf="+bpf.ID, 200, &list)
	if len(list.Documents) != 1 || list.Documents[0].ID != d.ID {
		t.Fatalf("list = %+v", list)
	}

	var comp struct {
		Errors     int `json:"errors"`
		Advisories int `json:"advisories"`
	}
	e.GetJSON(t, "/api/documents/"+d.ID+"/completeness", 200, &comp)
	if comp.Errors != 3 || comp.Advisories != 7 {
		t.Fatalf("completeness of an empty output = %+v; want 3 errors, 7 advisories", comp)
	}

	var sec struct{ ID, Title, Kind string }
	e.PostJSON(t, "/api/documents/"+d.ID+"/sections", map[string]string{"title": "Acknowledgements", "text": "Thanks to all.\n\nAnd more."}, 201, &sec)
	if sec.ID != "custom-1" || sec.Kind != "custom" {
		t.Fatalf("added section = %+v", sec)
	}
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &got)
	if len(got.Sections) != 11 || got.Sections[10].Text != "Thanks to all.\n\nAnd more." || len(got.Sections[10].Paras) != 2 {
		t.Fatalf("after adding a section: %+v", got.Sections)
	}

	status, md := e.Call(t, "GET", "/api/documents/"+d.ID+"/export?format=md", "", "")
	if status != 200 || !strings.Contains(string(md), "## 11. Acknowledgements") || !strings.Contains(string(md), "# Output 2026") {
		t.Fatalf("markdown export: %d\n%s", status, md)
	}
	status, page := e.Call(t, "GET", "/api/documents/"+d.ID+"/export?format=html", "", "")
	if status != 200 || !bytes.Contains(page, []byte("<!DOCTYPE html>")) || bytes.Contains(page, []byte("<script")) || !bytes.Contains(page, []byte("Cybersecurity")) {
		t.Fatalf("html export: %d\n%.500s", status, page)
	}
	var rendered struct {
		Sections []struct {
			HTML string `json:"html"`
		} `json:"sections"`
	}
	e.GetJSON(t, "/api/documents/"+d.ID+"/render", 200, &rendered)
	if len(rendered.Sections) != 11 || !strings.Contains(rendered.Sections[10].HTML, `data-para="`+got.Sections[10].Paras[0]+`"`) {
		t.Fatalf("render: %+v", rendered)
	}
	status, view := e.Call(t, "GET", "/d/"+d.ID, "", "")
	if status != 200 || !bytes.Contains(view, []byte("Thanks to all.")) {
		t.Fatalf("reading view: %d", status)
	}
	// The reading view says where the document stands: from its stage,
	// and once open for comment, from its window (by default, from the
	// BPF's meeting date) and the clock.
	if !bytes.Contains(view, []byte(`<p class="doc-phase"><strong>Draft in preparation</strong>`)) {
		t.Fatalf("reading view shows no phase")
	}
	e.PostJSON(t, "/api/documents/"+d.ID+"/workflow", map[string]string{"stage": "public-comment"}, 200, nil)
	status, view = e.Call(t, "GET", "/d/"+d.ID, "", "")
	if !bytes.Contains(view, []byte(`<time datetime="2026-06-22T00:00:00Z" data-local>22 June 2026, 00:00 UTC</time>`)) || !bytes.Contains(view, []byte(`<script src="/assets/time.js" defer>`)) {
		t.Fatalf("reading view shows no window from the meeting date:\n%s", view)
	}
}

func TestAPIImport(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	src := "# A draft\n\n## 1. Definition of the issues\n\nText one.\n\n## Acknowledgements\n\nThanks.\n"
	status, data := e.Call(t, "POST", "/api/documents/import?template=bpf-output", "text/markdown", src)
	if status != 201 {
		t.Fatalf("import: %d %s", status, data)
	}
	var out struct {
		Document collabtest.Doc `json:"document"`
		Report   struct {
			Mappings []struct {
				SectionID string `json:"section_id"`
				Match     string `json:"match"`
			} `json:"mappings"`
		} `json:"report"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Document.Title != "A draft" || out.Document.Sections[0].Text != "Text one." {
		t.Fatalf("imported document: %+v", out.Document)
	}
	if len(out.Report.Mappings) != 3 || out.Report.Mappings[0].Match != "title heading" || out.Report.Mappings[1].SectionID != "issues" || out.Report.Mappings[2].Match != "custom" {
		t.Fatalf("import report: %+v", out.Report)
	}
	var got collabtest.Doc
	e.GetJSON(t, "/api/documents/"+out.Document.ID, 200, &got)
	if got.Sections[0].Text != "Text one." {
		t.Fatalf("stored import: %+v", got)
	}

	// A dry run with a heading reassigned stores nothing.
	status, data = e.Call(t, "POST", "/api/documents/import?dry_run=true&assign=7%3Dissues", "text/markdown", src)
	if status != 200 || !bytes.Contains(data, []byte(`"match": "assigned"`)) {
		t.Fatalf("dry run: %d %s", status, data)
	}
	var list struct{ Documents []collabtest.Doc }
	e.GetJSON(t, "/api/documents", 200, &list)
	if len(list.Documents) != 1 {
		t.Fatalf("after a dry run: %d documents; want 1", len(list.Documents))
	}
}

// TestAPIBadInput: every bad request gets a 4xx with a JSON error saying
// what is wrong, and changes nothing.
func TestAPIBadInput(t *testing.T) {
	e := collabtest.New(t, collab.Config{MaxBodyBytes: 1024})
	d := e.CreateDoc(t, "bpf-output", "Kept")
	cases := []struct {
		name string
		c    apiCall
		want int
		code string
	}{
		{"unknown template", apiCall{"POST", "/api/documents", "application/json", `{"template":"nope","title":"x"}`}, 400, "unknown_template"},
		{"missing template", apiCall{"POST", "/api/documents", "application/json", `{"title":"x"}`}, 400, "invalid"},
		{"missing title", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output"}`}, 400, "invalid"},
		{"malformed JSON", apiCall{"POST", "/api/documents", "application/json", `{"template":`}, 400, "bad_json"},
		{"wrong field type", apiCall{"POST", "/api/documents", "application/json", `{"template":1,"title":"x"}`}, 400, "bad_json"},
		{"unknown field", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"x","owner":"me"}`}, 400, "bad_json"},
		{"two values", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"x"} {}`}, 400, "bad_json"},
		{"not JSON content type", apiCall{"POST", "/api/documents", "text/plain", `{"template":"bpf-output","title":"x"}`}, 415, "bad_content_type"},
		{"oversized body", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"` + strings.Repeat("x", 2000) + `"}`}, 413, "too_large"},
		{"invalid UTF-8", apiCall{"POST", "/api/documents", "application/json", "{\"template\":\"bpf-output\",\"title\":\"\xff\"}"}, 400, "bad_encoding"},
		{"lone surrogate escape", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"a\ud800b"}`}, 400, "bad_json"},
		{"lone surrogate in a section", apiCall{"POST", "/api/documents/" + d.ID + "/sections", "application/json", `{"title":"Annex","text":"\udc00"}`}, 400, "bad_json"},
		{"invalid UTF-8 import", apiCall{"POST", "/api/documents/import", "text/markdown", "# T\n\xed\xa0\x80"}, 400, "bad_encoding"},
		{"unknown BPF", apiCall{"POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"x","bpf":"nope"}`}, 400, "unknown_bpf"},
		{"bad BPF year", apiCall{"POST", "/api/bpfs", "application/json", `{"name":"X","year":1990}`}, 400, "invalid"},
		{"bad meeting date", apiCall{"POST", "/api/bpfs", "application/json", `{"name":"X","year":2026,"meeting_date":"22/06/2026"}`}, 400, "invalid"},
		{"unknown document", apiCall{method: "GET", path: "/api/documents/nope"}, 404, "not_found"},
		{"unknown document render", apiCall{method: "GET", path: "/api/documents/nope/render"}, 404, "not_found"},
		{"unknown BPF get", apiCall{method: "GET", path: "/api/bpfs/nope"}, 404, "not_found"},
		{"unknown export format", apiCall{method: "GET", path: "/api/documents/" + d.ID + "/export?format=pdf"}, 400, "bad_format"},
		{"unknown endpoint", apiCall{method: "GET", path: "/api/nothing"}, 404, "not_found"},
		{"empty section title", apiCall{"POST", "/api/documents/" + d.ID + "/sections", "application/json", `{"title":"  "}`}, 400, "invalid"},
		{"section on unknown document", apiCall{"POST", "/api/documents/nope/sections", "application/json", `{"title":"X"}`}, 404, "not_found"},
		{"import unknown template", apiCall{"POST", "/api/documents/import?template=nope", "text/markdown", "# x"}, 400, "unknown_template"},
		{"import empty", apiCall{"POST", "/api/documents/import", "text/markdown", ""}, 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, data := e.Call(t, tc.c.method, tc.c.path, tc.c.contentType, tc.c.body)
			var e apiError
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatalf("body is not a JSON error: %v\n%s", err, data)
			}
			if status != tc.want || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Fatalf("got %d %+v; want %d with code %q and a message", status, e, tc.want, tc.code)
			}
		})
	}
	var list struct{ Documents []struct{ ID string } }
	e.GetJSON(t, "/api/documents", 200, &list)
	if len(list.Documents) != 1 {
		t.Fatalf("bad requests created documents: %+v", list)
	}
	var got collabtest.Doc
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &got)
	if len(got.Sections) != 10 || got.Seq != 0 {
		t.Fatalf("bad requests changed the document: %+v", got)
	}
}

func TestAPICrossSiteRefused(t *testing.T) {
	e := collabtest.New(t, collab.Config{AllowedOrigins: []string{"https://bpf.example.org"}})
	body := `{"template":"bpf-output","title":"x"}`
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", 403},
		{e.URL, 201},
		{"https://bpf.example.org", 201},
	} {
		req, _ := http.NewRequest("POST", e.URL+"/api/documents", strings.NewReader(body))
		req.Header = e.Header()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", tc.origin)
		resp, err := e.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Origin %s: status %d; want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	e.GetJSON(t, "/healthz", 200, nil)
	e.GetJSON(t, "/readyz", 200, nil)
	e.Store.Close()
	e.GetJSON(t, "/readyz", 503, nil)
	e.GetJSON(t, "/healthz", 200, nil)
}

func TestSecurityHeaders(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Headers")
	for _, path := range []string{"/", "/d/" + d.ID, "/api/documents/" + d.ID} {
		resp, err := e.HTTP.Client().Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", path, csp, resp.Header.Get("X-Content-Type-Options"))
		}
	}
}
