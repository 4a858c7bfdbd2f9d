// Package frontend serves the browser editing app: the JavaScript and CSS
// bundle built from src/ by build.mjs (esbuild) into dist/, which is
// committed and embedded here, so running bpfdraft needs no npm, and the
// HTML page that loads it.
//
// The bundle also holds the reading view's script (ReadingScript).
//
// The collab server mounts it on two routes:
//
//	mux.Handle("GET /static/", frontend.Assets())
//	mux.HandleFunc("GET /edit/{id}", func(w http.ResponseWriter, r *http.Request) {
//		w.Header().Set("Content-Type", "text/html; charset=utf-8")
//		frontend.EditorPage(w, frontend.PageData{DocID: r.PathValue("id"), Title: title})
//	})
//
// The page has no inline script and no inline style, so it runs under a
// Content-Security-Policy of script-src 'self' and style-src 'self'. The
// app opens the document's websocket (docs/protocol.md) at
// /api/documents/{id}/ws and fetches /api/documents/{id}/render for
// previews.
//
// # Caveats
//
// dist/ must match src/: `npm run check-bundle` (run by scripts/test)
// fails when it does not. Edit src/, run `npm run build` in frontend/ and
// commit both.
package frontend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

//go:embed dist
var dist embed.FS

// The bundle's file names, fixed by build.mjs.
const (
	scriptName = "app.js"
	styleName  = "app.css"
)

// ReadingScript is the reading view's script in the bundle: on /d/{id},
// for a person who may comment, selecting words of a paragraph offers a
// link to comment on them (the comment page with ?quote= filled in). It
// is a classic script: the reading view loads it with defer, from
// AssetURL(ReadingScript), served by Assets like the rest of the bundle.
const ReadingScript = "reading.js"

// asset is one file of dist, ready to serve.
type asset struct {
	name    string
	ctype   string
	body    []byte
	gzipped []byte // nil when compressing does not pay
	version string // a prefix of the content hash, used in URLs
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	m := map[string]*asset{}
	entries, err := fs.ReadDir(dist, "dist")
	if err != nil {
		panic("frontend: no embedded dist: " + err.Error())
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := dist.ReadFile("dist/" + e.Name())
		if err != nil {
			panic("frontend: " + err.Error())
		}
		sum := sha256.Sum256(body)
		a := &asset{name: e.Name(), ctype: contentType(e.Name()), body: body, version: hex.EncodeToString(sum[:])[:12]}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
		m[e.Name()] = a
	}
	return m
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".map", ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	}
	return "application/octet-stream"
}

// Assets returns the handler of GET /static/{name}: the files of the
// embedded dist with their content types. A URL carrying the file's
// current version (?v=, as AssetURL and EditorPage write it) is cached for
// a year as immutable; any other is revalidated by ETag every time, so a
// new binary's bundle is never hidden by a stale cache. Responses are
// gzipped for clients that accept it.
func Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		a := assets[name]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		body, etag := a.body, `"`+a.version+`"`
		if a.gzipped != nil && acceptsGzip(r) {
			body, etag = a.gzipped, `"`+a.version+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		// ServeContent answers If-None-Match and HEAD; a zero time leaves
		// Last-Modified out (embedded files have none).
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// AssetURL returns the versioned URL of a file of the bundle ("app.js",
// "app.css"), or "" when there is no such file.
func AssetURL(name string) string {
	a := assets[name]
	if a == nil {
		return ""
	}
	return "/static/" + a.name + "?v=" + a.version
}

// PageData is what the editing page needs to know.
type PageData struct {
	// DocID is the document to edit; the app reads it from
	// <body data-doc>. Required.
	DocID string
	// Title is shown until the app has loaded the document (which carries
	// its own title). Optional.
	Title string
	// UserName, when the server knows who is signed in, is the name shown
	// to others; the app then does not ask for one. Optional.
	UserName string
	// CSRF is the signed-in session's token, which the app sends as the
	// X-CSRF-Token header of its state-changing requests. Optional.
	CSRF string
	// ReadOnly: the person may read the live draft but not edit it; the
	// app then opens the websocket to read only (?mode=view), makes the
	// editors read-only and says so.
	ReadOnly bool
}

// EditorPage writes the HTML page of the editing view of a document: the
// landmarks (outline, sections, people and connection) that the app fills
// in, and references to /static/app.css and /static/app.js. It writes no
// headers; the caller sets Content-Type and the security headers.
func EditorPage(w io.Writer, data PageData) error {
	title := "bpfdraft"
	if data.Title != "" {
		title = data.Title + " — bpfdraft"
	}
	return pageTmpl.Execute(w, editor.Layout{
		Title: title, Stylesheet: AssetURL(styleName), Modules: []string{AssetURL(scriptName)},
		DocID: data.DocID, UserName: data.UserName, CSRF: data.CSRF, Content: data,
	})
}

// pageTmpl is the editing view in bpfdraft's one page layout.
var pageTmpl = template.Must(editor.PageTemplate(`{{define "content"}}{{with .Content}}<a class="skip-link" href="#sections">Skip to the text</a>
<header class="app-header">
<a class="brand" href="/">bpfdraft</a>
<h1 id="doc-title">{{or .Title "Document"}}</h1>
<a class="reading-link" href="/d/{{.DocID}}">Reading view</a>
</header>
<div id="app-error" class="app-error" role="alert" hidden></div>
<div class="layout">
<nav id="outline" class="outline" aria-labelledby="outline-title">
<h2 id="outline-title">Sections</h2>
<ol id="outline-list"></ol>
<form id="add-section" class="add-section"{{if .ReadOnly}} hidden{{end}}>
<label for="new-section-title">New section</label>
<input id="new-section-title" name="title" type="text" maxlength="200" autocomplete="off">
<button type="submit" class="button-secondary">Add section</button>
<p id="add-section-msg" class="hint" role="status"></p>
</form>
</nav>
<main id="sections" class="sections" tabindex="-1" aria-label="Document text"{{if .ReadOnly}} data-read-only="true"{{end}}>
{{if .ReadOnly}}<p class="read-only-note" role="note">You are reading the live draft. Editing it is for the BPF's team.</p>
{{end}}<p id="loading" class="loading">Loading the document…</p>
<noscript><p>Editing needs JavaScript. The document can be read in the <a href="/d/{{.DocID}}">reading view</a>.</p></noscript>
</main>
<aside id="side" class="side" aria-label="People and connection">
<h2 class="visually-hidden">Connection</h2>
<div id="conn-state" class="conn" data-state="connecting" data-pending="0">
<span id="conn-label" class="conn-label" role="status">Connecting…</span>
<span id="conn-detail" class="conn-detail"></span>
</div>
<h2 id="people-title">People here (<span id="presence-count">1</span>)</h2>
<ul id="presence" class="presence" aria-labelledby="people-title"></ul>
<button type="button" id="change-name" class="button-secondary">Change your name</button>
</aside>
</div>{{end}}{{end}}`, nil))
