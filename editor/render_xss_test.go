package editor

import (
	"bytes"
	"fmt"
	"os"
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
			page, err := RenderPage(doc, PageOptions{BPFName: entry, Year: 2025})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkSafeHTML(page) {
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
	r, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Sections[0].HTML
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
		r, err := Render(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Sections[0].HTML; strings.Contains(got, "<a") {
			t.Errorf("%s: got %s; want no link", text, got)
		}
	}
}

var (
	safeElements = set("html", "head", "body", "title", "link-free", "main", "nav", "header", "section", "time",
		"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
		"pre", "code", "blockquote", "hr", "br", "em", "strong", "del", "sup", "div", "span", "a", "img")
	unsafeElements = set("script", "iframe", "object", "embed", "style", "form", "meta", "base", "svg", "math",
		"link", "input", "button", "textarea", "select", "frame", "frameset", "applet", "template", "noscript")
	safeAttrs = set("id", "data-para", "href", "src", "alt", "title", "class", "role", "start", "align",
		"aria-label", "aria-labelledby", "datetime", "data-kind", "lang")
)

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkSafeHTML parses a page as a browser would and lists what could run
// script or load something other than a web page or image. The page head's
// own meta and style elements are expected; everything in the body is
// checked against allow-lists.
func checkSafeHTML(page []byte) []string {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var walk func(n *html.Node, inHead bool)
	walk = func(n *html.Node, inHead bool) {
		if n.Type == html.ElementNode {
			if n.Data == "head" {
				inHead = true
			}
			switch {
			case inHead && (n.Data == "meta" || n.Data == "style" || n.Data == "title"):
				if n.Data == "meta" {
					for _, a := range n.Attr {
						if a.Key == "http-equiv" {
							problems = append(problems, "meta http-equiv in head")
						}
					}
				}
			case unsafeElements[n.Data] || n.Namespace != "":
				problems = append(problems, fmt.Sprintf("got element <%s>", n.Data))
			case !safeElements[n.Data]:
				problems = append(problems, fmt.Sprintf("got unexpected element <%s>", n.Data))
			}
			hasHref := false
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case a.Namespace != "":
					problems = append(problems, fmt.Sprintf("got namespaced attribute %s:%s", a.Namespace, a.Key))
				case strings.HasPrefix(key, "on"):
					problems = append(problems, fmt.Sprintf("got event handler %s=%q", a.Key, a.Val))
				case key == "style":
					problems = append(problems, fmt.Sprintf("got style=%q", a.Val))
				case inHead && n.Data == "meta" && (key == "charset" || key == "name" || key == "content"):
				case !safeAttrs[key]:
					problems = append(problems, fmt.Sprintf("got unexpected attribute %s=%q on <%s>", a.Key, a.Val, n.Data))
				}
				if key == "href" || key == "src" {
					hasHref = true
					if s := unsafeScheme(a.Val); s != "" {
						problems = append(problems, fmt.Sprintf("got %s=%q with scheme %q", a.Key, a.Val, s))
					}
					if n.Data == "img" && !strings.HasPrefix(strings.ToLower(a.Val), "http://") &&
						!strings.HasPrefix(strings.ToLower(a.Val), "https://") {
						problems = append(problems, fmt.Sprintf("got img src=%q; want http or https", a.Val))
					}
				}
			}
			if n.Data == "a" && !hasHref {
				problems = append(problems, "got <a> without href")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inHead)
		}
	}
	walk(doc, false)
	return problems
}

// unsafeScheme returns the scheme of a URL attribute value of the
// rendered output when it is not http, https or mailto, decoded the way
// the renderer decodes link destinations (decodedScheme): here it is
// applied to every attribute of the final HTML, after the sanitizer.
func unsafeScheme(v string) string {
	switch scheme := decodedScheme(v); scheme {
	case "", "http", "https", "mailto":
		return ""
	default:
		return scheme
	}
}
