package editor

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func TestRenderPage(t *testing.T) {
	doc := readDocFile(t, "testdata/render/toc.md")
	doc.Title = `Cybersecurity <b>norms</b> & "practice"`
	gen := time.Date(2025, time.October, 7, 15, 4, 5, 0, time.UTC)
	page := RenderPage(doc, PageOptions{BPFName: "BPF Cybersecurity", Year: 2025, Status: "Draft for public comment", VersionDate: gen})
	s := string(page)
	for _, want := range []string{
		"<!DOCTYPE html>",
		`<html lang="en">`,
		"<title>Cybersecurity &lt;b&gt;norms&lt;/b&gt; &amp; &#34;practice&#34; — BPF Cybersecurity 2025</title>",
		`<p class="doc-forum">BPF Cybersecurity 2025</p>`,
		`<span class="doc-status">Draft for public comment</span> · Version of <time datetime="2025-10-07">7 October 2025</time>`,
		`<nav class="toc"`,
		`<a href="#s-definition"><span class="toc-number">1.</span> Definition of the issue(s)</a>`,
		`<a href="#p4">Earlier work on norms</a>`,
		`<span class="section-number">2.</span> Regional specificities</h2>`,
		`<span class="section-number">3.</span> Annex: glossary</h2>`,
		"@page", "@media print", "70ch",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("got a page without %s", want)
		}
	}

	// Every paragraph id is a link target, with its number in the margin
	// unless it is a heading.
	n := 0
	for _, sec := range doc.Sections {
		for i, p := range sec.Paras {
			if !strings.Contains(s, fmt.Sprintf(`id="%s"`, p)) {
				t.Errorf("got no element with id %s", p)
			}
			if sp := Paragraphs(sec.Text)[i]; strings.HasPrefix(sec.Text[sp.Start:sp.End], "#") {
				if strings.Contains(s, fmt.Sprintf(`href="#%s" aria-label="Paragraph`, p)) {
					t.Errorf("heading %s has a paragraph number; want none", p)
				}
				continue
			}
			n++
			if want := fmt.Sprintf(`<a class="pnum" href="#%s" aria-label="Paragraph %d">%d</a>`, p, n, n); !strings.Contains(s, want) {
				t.Errorf("got no margin number %s", want)
			}
		}
	}

	root, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" {
				t.Error("got a <script> element; want none")
			}
			for _, a := range n.Attr {
				if a.Key == "id" {
					if ids[a.Val] {
						t.Errorf("got id %q twice; want unique ids", a.Val)
					}
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if problems := xssOracle(page); len(problems) > 0 {
		t.Errorf("got unsafe page: %v", problems)
	}
}

func TestRenderPageOptions(t *testing.T) {
	doc := &Document{Title: "T", Sections: []Section{{ID: "s", Title: "S", Kind: Required}}}
	page := RenderPage(doc, PageOptions{Lang: `fr" onload="x`})
	s := string(page)
	for _, unwanted := range []string{"Version of", `<p class="doc-forum"`, "onload", `class="doc-phase"`} {
		if strings.Contains(s, unwanted) {
			t.Errorf("got %q in a page without that option", unwanted)
		}
	}
	if !strings.Contains(s, "This section has no text yet.") || !strings.Contains(s, `class="doc-section empty"`) {
		t.Error("got an empty section without its notice; want one")
	}
	page = RenderPage(doc, PageOptions{Lang: "fr"})
	if !bytes.Contains(page, []byte(`<html lang="fr">`)) {
		t.Error(`got no lang="fr"; want the page's language`)
	}
	// A publication leaves empty sections out, in the body and the contents.
	page = RenderPage(doc, PageOptions{Publication: true})
	if bytes.Contains(page, []byte("no text yet")) || bytes.Contains(page, []byte(`href="#s-s"`)) {
		t.Error("got an empty section in a publication; want it left out")
	}
}

func TestPageCSSScoped(t *testing.T) {
	// Every rule outside @page applies inside .bpf-doc only, so the public
	// view can load the sheet next to its own.
	for line := range strings.SplitSeq(PageCSS, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasSuffix(l, "{") && !strings.HasPrefix(l, "@") && !strings.Contains(l, ".bpf-doc") {
			t.Errorf("got unscoped rule %q; want it under .bpf-doc", l)
		}
	}
}

// A CSP carrying PageStyleHash must allow the page's style element.
func TestPageStyleHash(t *testing.T) {
	page := RenderPage(&Document{Title: "T"}, PageOptions{})
	root, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var styles []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "style" && n.FirstChild != nil {
			styles = append(styles, n.FirstChild.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if len(styles) != 1 {
		t.Fatalf("got %d style elements; want 1", len(styles))
	}
	if got := styleHash(styles[0]); got != PageStyleHash {
		t.Errorf("got style hash %s; want PageStyleHash %s", got, PageStyleHash)
	}
}
