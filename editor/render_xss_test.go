package editor

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// readXSSCorpus returns the entries of testdata/xss/corpus.txt.
func readXSSCorpus(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/xss/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(data), "\n%%%\n")
	var out []string
	for _, p := range parts[1:] { // parts[0] is the file's comment
		out = append(out, strings.TrimSuffix(p, "\n"))
	}
	if len(out) < 50 {
		t.Fatalf("got %d corpus entries; want at least 50", len(out))
	}
	return out
}

// xssContexts places an entry where markdown treats it differently.
var xssContexts = []struct {
	name string
	wrap func(string) string
}{
	{"top level", func(s string) string { return s }},
	{"after text", func(s string) string { return "Some text\n" + s }},
	{"list item", func(s string) string { return "- " + indent(s, "  ") }},
	{"blockquote", func(s string) string { return "> " + indent(s, "> ") }},
	{"footnote", func(s string) string { return "See[^n].\n\n[^n]: " + indent(s, "    ") }},
	{"heading", func(s string) string { return "## " + strings.ReplaceAll(s, "\n", " ") }},
	{"table cell", func(s string) string {
		return "| a | b |\n|---|---|\n| " + strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") + " | x |"
	}},
	{"link text", func(s string) string { return "[" + strings.ReplaceAll(s, "\n", " ") + "](http://ok.example)" }},
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func TestRenderXSSCorpus(t *testing.T) {
	for i, entry := range readXSSCorpus(t) {
		for _, c := range xssContexts {
			doc := &Document{
				Title: entry,
				Sections: []Section{
					{ID: "s", Title: entry, Kind: Custom, Text: c.wrap(entry)},
					{ID: "t", Title: "T", Kind: Custom, Text: entry},
				},
			}
			doc.AssignParagraphIDs()
			page := RenderPage(doc, PageOptions{BPFName: entry, Year: 2025, Status: entry, Phase: entry})
			for _, p := range xssOracle(page) {
				t.Errorf("entry %d %q in %s: %s", i+1, entry, c.name, p)
			}
		}
	}
}

// The policy must not be so strict that ordinary links and images vanish.
func TestRenderKeepsSafeLinks(t *testing.T) {
	text := "[ok](https://example.org/path?q=1#frag) [rel](../other) [frag](#p1) [proto](//example.org/x) " +
		"[mail](mailto:x@example.com) <x@example.com> www.example.com ![img](https://example.org/i.png \"t\")"
	doc := &Document{Sections: []Section{{ID: "s", Text: text, Paras: []string{"p1"}}}}
	got := Render(doc).Sections[0].HTML
	for _, want := range []string{
		`href="https://example.org/path?q=1#frag"`, `href="../other"`, `href="#p1"`, `href="//example.org/x"`,
		`href="mailto:x@example.com"`, `href="http://www.example.com"`, `src="https://example.org/i.png"`, `title="t"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got %s; want it to contain %s", got, want)
		}
	}
}

// Links with a refused destination must lose the link, not just the href.
func TestRenderDropsDangerousLinks(t *testing.T) {
	for _, text := range []string{
		"[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](java&#x09;script:alert(1))",
		"[x](&#106;avascript:alert(1))", "[x](vbscript:msgbox(1))", "[x](data:text/html,x)", "<javascript:alert(1)>",
	} {
		doc := &Document{Sections: []Section{{ID: "s", Text: text, Paras: []string{"p1"}}}}
		if got := Render(doc).Sections[0].HTML; strings.Contains(got, "<a") {
			t.Errorf("%s: got %s; want no link", text, got)
		}
	}
}

// TestSanitizerStep feeds dangerous HTML straight to the sanitizer step of
// the renderer, as if goldmark had let it through: the oracle must find
// nothing in what comes out, and the harmless part must survive. Removing
// the sanitizer, or loosening its policy to allow style or event handler
// attributes, fails here.
func TestSanitizerStep(t *testing.T) {
	dangerous := []string{
		`<p id="p1" style="background:url(javascript:alert(1))">text</p>`,
		`<p id="p1" onclick="alert(1)" onmouseover="alert(2)">text</p>`,
		`<p id="p1">text<script>alert(1)</script></p>`,
		`<p id="p1"><a href="javascript:alert(1)">text</a></p>`,
		`<p id="p1"><a href="jav&#x09;ascript:alert(1)">text</a></p>`,
		`<p id="p1"><img src="x" onerror="alert(1)">text</p>`,
		`<p id="p1"><img src="data:image/svg+xml,<svg onload=alert(1)>">text</p>`,
		`<p id="p1">text<iframe src="https://evil.example"></iframe></p>`,
		`<p id="p1">text<style>body{display:none}</style></p>`,
		`<p id="p1">text<svg><script>alert(1)</script></svg></p>`,
		`<p id="p1">text<form action="https://evil.example"><input name="x"></form></p>`,
		`<p id="p1" class="x" data-evil="1">text</p>`,
		`<p id="p1">text<object data="x.swf"></object><embed src="x.swf"></p>`,
		`<p id="p1">text<meta http-equiv="refresh" content="0;url=javascript:alert(1)"></p>`,
		`<p id="p1"><a href="https://ok.example" target="_blank" style="color:red">text</a></p>`,
		`<p id="p1">text<math><mi xlink:href="javascript:alert(1)">x</mi></math></p>`,
		`<code class="language-go&quot; onclick=&quot;x">text</code>`,
	}
	for _, in := range dangerous {
		out := string(sanitize([]byte(in)))
		if problems := xssOracle([]byte("<!DOCTYPE html><html><head><title>t</title></head><body>" + out + "</body></html>")); len(problems) > 0 {
			t.Errorf("sanitize(%s) = %s: %v", in, out, problems)
		}
		if !strings.Contains(out, "text") {
			t.Errorf("sanitize(%s) = %s; want the text kept", in, out)
		}
	}
}

// TestRenderOutputPassesPolicy renders markdown whose HTML, without the
// sanitizer, would break the oracle's rules: a fenced code block's
// language is the writer's free text, and only the policy keeps an odd one
// out of the class attribute.
func TestRenderOutputPassesPolicy(t *testing.T) {
	for _, text := range []string{
		"```go\"onmouseover=\"alert(1)\nx\n```",
		"```" + strings.Repeat("a", 60) + "\nx\n```",
		"```a<b\nx\n```",
	} {
		doc := &Document{Title: "T", Sections: []Section{{ID: "s", Title: "S", Text: text, Paras: []string{"p1"}}}}
		if problems := xssOracle(RenderPage(doc, PageOptions{})); len(problems) > 0 {
			t.Errorf("%q: %v", text, problems)
		}
	}
}

// The oracle is written from scratch for the tests, sharing no code with
// the renderer or its policy: it parses a page as a browser would and
// lists everything outside its own allow-lists of elements, attributes
// and URL schemes.
var (
	oracleBodyElements = oracleSet("main", "nav", "header", "section", "div", "time", "span",
		"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
		"pre", "code", "blockquote", "hr", "br", "em", "strong", "del", "sup", "a", "img")
	oracleHeadElements = oracleSet("html", "head", "body", "title", "meta", "style")
	// Attributes allowed anywhere, with the shape of their values.
	oracleAttrs = map[string]*regexp.Regexp{
		"id":              regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]*$`),
		"data-para":       regexp.MustCompile(`^[A-Za-z0-9_-]+$`),
		"data-kind":       regexp.MustCompile(`^(required|recommended|custom)?$`),
		"dir":             regexp.MustCompile(`^(auto|ltr|rtl)$`),
		"lang":            regexp.MustCompile(`^[A-Za-z0-9-]+$`),
		"role":            regexp.MustCompile(`^doc-(noteref|backlink|endnotes)$`),
		"aria-label":      nil,
		"aria-labelledby": regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]*$`),
		"title":           nil,
		"alt":             nil,
		"datetime":        regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`),
		"start":           regexp.MustCompile(`^[0-9]+$`),
		"value":           regexp.MustCompile(`^[0-9]+$`),
		"align":           regexp.MustCompile(`^(left|center|right)$`),
	}
	// Classes allowed per element: the page's own, plus code languages.
	oracleClasses = map[string]*regexp.Regexp{
		"code":    regexp.MustCompile(`^language-[A-Za-z0-9_+#.-]{1,40}$`),
		"pre":     regexp.MustCompile(`^raw-html$`),
		"p":       regexp.MustCompile(`^(doc-forum|doc-version|doc-phase|no-text|toc-notes|degraded-note|render-note)$`),
		"div":     regexp.MustCompile(`^(bpf-doc( publication)?|degraded)$`),
		"section": regexp.MustCompile(`^(doc-section( empty)?|doc-notes)$`),
		"header":  regexp.MustCompile(`^title-page$`),
		"nav":     regexp.MustCompile(`^toc$`),
		"h1":      regexp.MustCompile(`^doc-title$`),
		"h2":      regexp.MustCompile(`^section-title$`),
		"span":    regexp.MustCompile(`^(section-number|toc-number|doc-status)$`),
		"a":       regexp.MustCompile(`^(pnum|fnback)$`),
		"sup":     regexp.MustCompile(`^fnref$`),
		"ol":      regexp.MustCompile(`^footnotes$`),
		"li":      regexp.MustCompile(`^toc-empty$`),
	}
)

func oracleSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// xssOracle lists what in a page could run script, style the page or load
// something other than a web page or an image over http(s).
func xssOracle(page []byte) []string {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var walk func(n *html.Node, inBody bool)
	walk = func(n *html.Node, inBody bool) {
		if n.Type == html.ElementNode {
			if n.Data == "body" {
				inBody = true
			}
			switch {
			case n.Namespace != "":
				bad("got foreign element <%s:%s>", n.Namespace, n.Data)
			case inBody && n.Data != "body" && !oracleBodyElements[n.Data]:
				bad("got element <%s> in the body", n.Data)
			case !inBody && !oracleHeadElements[n.Data]:
				bad("got element <%s> in the head", n.Data)
			case n.Data == "style" && (n.Parent == nil || n.Parent.Data != "head"):
				bad("got a style element outside the head")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					bad("got attribute %s:%s on <%s>", a.Namespace, a.Key, n.Data)
					continue
				}
				if n.Data == "meta" && !inBody {
					if key == "charset" || key == "name" && a.Val == "viewport" || key == "content" && !strings.Contains(strings.ToLower(a.Val), "url") {
						continue
					}
					bad("got meta %s=%q", a.Key, a.Val)
					continue
				}
				switch {
				case strings.HasPrefix(key, "on"):
					bad("got event handler %s=%q on <%s>", a.Key, a.Val, n.Data)
				case key == "style":
					bad("got style=%q on <%s>", a.Val, n.Data)
				case key == "class":
					re := oracleClasses[n.Data]
					if re == nil || !re.MatchString(a.Val) {
						bad("got class=%q on <%s>", a.Val, n.Data)
					}
				case key == "href" && n.Data == "a":
					if !oracleURL(a.Val, false) {
						bad("got href=%q", a.Val)
					}
				case key == "src" && n.Data == "img":
					if !oracleURL(a.Val, true) {
						bad("got img src=%q", a.Val)
					}
				default:
					re, ok := oracleAttrs[key]
					if !ok {
						bad("got attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
					} else if re != nil && !re.MatchString(a.Val) {
						bad("got %s=%q on <%s>", a.Key, a.Val, n.Data)
					}
				}
			}
			if n.Data == "a" && !hasAttr(n, "href") {
				bad("got <a> without href")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inBody)
		}
	}
	walk(doc, false)
	return problems
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// oracleURL judges a URL attribute as parsed by the HTML parser (entities
// already decoded). Browsers drop tabs and line breaks anywhere in a URL
// and blanks and controls at its ends, and take the scheme case-blind; a
// percent sign before the first ":" is refused outright rather than
// guessed at. Images must be http or https; links may also be mailto or
// relative.
func oracleURL(v string, image bool) bool {
	var b strings.Builder
	for _, r := range v {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		b.WriteRune(r)
	}
	u := strings.ToLower(strings.Trim(b.String(), "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	colon := strings.IndexByte(u, ':')
	cut := strings.IndexAny(u, "/?#")
	if colon < 0 || cut >= 0 && cut < colon {
		return !image // relative
	}
	scheme := u[:colon]
	if strings.ContainsAny(scheme, "%&\\") {
		return false
	}
	switch scheme {
	case "http", "https":
		return true
	case "mailto":
		return !image
	}
	return false
}
