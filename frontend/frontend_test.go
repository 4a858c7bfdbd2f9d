package frontend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestDistHasTheBundle(t *testing.T) {
	for _, name := range []string{scriptName, styleName} {
		a := assets[name]
		if a == nil {
			t.Fatalf("embedded dist has no %s", name)
		}
		if len(a.body) < 1000 {
			t.Errorf("%s is %d bytes; want a real bundle", name, len(a.body))
		}
	}
	// The bundle must contain the protocol binding and the editor.
	js := string(assets[scriptName].body)
	for _, want := range []string{`"hello"`, `"push"`, "remote-caret", "cm-content"} {
		if !strings.Contains(js, want) {
			t.Errorf("app.js lacks %q", want)
		}
	}
}

func page(t *testing.T, data PageData) string {
	t.Helper()
	var b bytes.Buffer
	if err := EditorPage(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestEditorPageReferencesTheBundle(t *testing.T) {
	html := page(t, PageData{DocID: "doc-1", Title: "BPF Cybersecurity 2026"})
	for _, want := range []string{
		`<link rel="stylesheet" href="` + AssetURL(styleName) + `">`,
		`<script type="module" src="` + AssetURL(scriptName) + `"></script>`,
		`<body data-doc="doc-1">`,
		`<title>BPF Cybersecurity 2026 — bpfdraft</title>`,
		`href="/d/doc-1"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s; got:\n%s", want, html)
		}
	}
	if !strings.HasPrefix(AssetURL(scriptName), "/static/app.js?v=") || AssetURL("nope.js") != "" {
		t.Errorf("AssetURL: got %q and %q", AssetURL(scriptName), AssetURL("nope.js"))
	}
}

// The CSP allows no inline script and no inline style.
func TestEditorPageHasNothingInline(t *testing.T) {
	html := page(t, PageData{DocID: "d", UserName: "Ana"})
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(m, ` src="/static/`) {
			t.Errorf("inline script: %s", m)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "</script>\n<script") {
		t.Error("page has an inline script")
	}
	for _, bad := range []string{"<style", " style=", "onclick=", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(html, `data-user-name="Ana"`) {
		t.Error("UserName not passed to the app")
	}
}

func TestEditorPageEscapes(t *testing.T) {
	html := page(t, PageData{DocID: `x"><script>alert(1)</script>`, Title: "<b>T</b>", UserName: `"`})
	if strings.Contains(html, "<script>alert") || strings.Contains(html, "<b>T</b>") {
		t.Errorf("page does not escape its data:\n%s", html)
	}
}

// Every element the app looks up by id must be in the page, and the ids
// other tests rely on must stay.
func TestEditorPageHasWhatTheAppNeeds(t *testing.T) {
	html := page(t, PageData{DocID: "d"})
	src, err := os.ReadFile("src/app.js")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{"conn-state": true, "presence": true, "sections": true, "outline": true}
	for _, m := range regexp.MustCompile(`\$\("([a-z-]+)"\)`).FindAllStringSubmatch(string(src), -1) {
		ids[m[1]] = true
	}
	if len(ids) < 10 {
		t.Fatalf("found only %d ids in src/app.js; the pattern is stale", len(ids))
	}
	for id := range ids {
		if !strings.Contains(html, ` id="`+id+`"`) {
			t.Errorf("page has no element with id %q, which the app uses", id)
		}
	}
	for _, want := range []string{`data-state="connecting"`, `data-pending="0"`, `<main `, `<nav `, `<aside `, `class="skip-link"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func get(t *testing.T, h http.Handler, url string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestAssets(t *testing.T) {
	h := Assets()
	js := assets[scriptName]

	resp := get(t, h, "/static/app.js")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, js.body) {
		t.Fatalf("GET /static/app.js: status %d, %d bytes; want 200, %d bytes", resp.StatusCode, len(body), len(js.body))
	}
	if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("unversioned Cache-Control %q; want no-cache", got)
	}

	resp = get(t, h, AssetURL(styleName))
	if got := resp.Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("app.css Content-Type %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned Cache-Control %q; want immutable", got)
	}
	if got := get(t, h, "/static/app.css?v=0000").Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("old version Cache-Control %q; want no-cache", got)
	}

	etag := resp.Header.Get("ETag")
	if resp := get(t, h, "/static/app.css", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d; want 304", etag, resp.StatusCode)
	}

	resp = get(t, h, "/static/app.js", "Accept-Encoding", "br, gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, js.body) {
		t.Error("gzipped app.js does not unzip to app.js")
	}
	if get(t, h, "/static/app.js", "Accept-Encoding", "gzip;q=0").Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refuses it")
	}

	for _, p := range []string{"/static/", "/static/nope.js", "/static/../frontend.go", "/static/dist/app.js", "/static/app.js/"} {
		if resp := get(t, h, p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d; want 404", p, resp.StatusCode)
		}
	}
	req := httptest.NewRequest("POST", "/static/app.js", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d; want 405", rec.Code)
	}
}
