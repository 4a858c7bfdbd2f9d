package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Two paragraphs typed into the first section for the reading view.
const (
	readingPara1 = "Ransomware attacks on hospitals grew in every region we surveyed."
	readingPara2 = "Regional CERTs share indicators through informal channels."
)

// writeParagraphs opens the editor, types two paragraphs into the first
// section and waits until the server has them. An Enter sent through
// DevTools arrives as a key press and a character, which CodeMirror turns
// into two line breaks: one "\r" starts a new paragraph.
func writeParagraphs(t *testing.T, s *server, b *browser) {
	t.Helper()
	b.openEditor(s)
	if err := b.typeAt(s.sections[0], true, "\r"+readingPara1+"\r"+readingPara2); err != nil {
		t.Fatal(err)
	}
	texts := converged(t, s, 15*time.Second, b)
	if !strings.Contains(texts[s.sections[0]], readingPara2) {
		t.Fatalf("server text of %s: got %q; want it to contain %q", s.sections[0], texts[s.sections[0]], readingPara2)
	}
}

// TestReadingView reads /d/{id}: the text, a table of contents whose links
// all have targets, and paragraph numbers that link to their paragraphs;
// then the same page with JavaScript disabled.
func TestReadingView(t *testing.T) {
	s := newServer(t)
	b := s.memberBrowser(t, "Ana Silva")
	writeParagraphs(t, s, b)

	b.must("open the reading view", 15*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS("nav.toc")),
	)
	type page struct {
		Text     string   `json:"text"`
		TOC      []string `json:"toc"`
		Missing  []string `json:"missing"`
		Sections int      `json:"sections"`
		PNums    []string `json:"pnums"`
	}
	got, err := eval[page](b, `(() => {
		const toc = [...document.querySelectorAll("nav.toc a")].map(a => a.getAttribute("href"))
		return {
			text: document.querySelector("main").innerText,
			toc,
			missing: toc.filter(h => !document.getElementById(h.slice(1))),
			sections: document.querySelectorAll("main section.doc-section").length,
			pnums: [...document.querySelectorAll("a.pnum")].map(a => a.getAttribute("href")),
		}
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{readingPara1, readingPara2} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("reading view text: got %q; want it to contain %q", got.Text, want)
		}
	}
	if got.Sections != len(s.sections) {
		t.Errorf("reading view: got %d sections; want %d", got.Sections, len(s.sections))
	}
	if len(got.TOC) < len(s.sections) {
		t.Errorf("table of contents: got %d links %v; want at least %d", len(got.TOC), got.TOC, len(s.sections))
	}
	if len(got.Missing) > 0 {
		t.Errorf("table of contents links without a target: %v", got.Missing)
	}
	if len(got.PNums) < 2 {
		t.Fatalf("paragraph numbers: got %v; want at least 2", got.PNums)
	}
	b.screenshot("reading-view")

	// The margin number of the second typed paragraph links to it.
	href := got.PNums[len(got.PNums)-1]
	b.must("click a paragraph number", 10*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.pnum[href=%q]`, href))),
	)
	hash, err := eval[string](b, `location.hash`)
	if err != nil {
		t.Fatal(err)
	}
	if hash != href {
		t.Errorf("after clicking the paragraph number: location.hash = %q; want %q", hash, href)
	}
	target, err := eval[string](b, fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, href[1:]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(target, readingPara2) {
		t.Errorf("element %s: got text %q; want the paragraph %q", href, target, readingPara2)
	}

	// Without JavaScript the page is the same server-rendered document.
	b.must("disable JavaScript and reload", 15*time.Second,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitReady(chromedp.CSS("nav.toc")),
	)
	html, err := run(b, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{readingPara1, readingPara2, `class="pnum"`, `href="` + href + `"`, `id="` + href[1:] + `"`} {
		if !strings.Contains(html, want) {
			t.Errorf("reading view without JavaScript: got no %q in main", want)
		}
	}
	toc, err := run(b, chromedp.OuterHTML(chromedp.CSS("nav.toc")))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(toc, "<a "); n < len(s.sections) {
		t.Errorf("table of contents without JavaScript: got %d links; want at least %d", n, len(s.sections))
	}
	b.must("click a paragraph number without JavaScript", 10*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.pnum[href=%q]`, href))),
	)
	loc, err := run(b, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, href) {
		t.Errorf("without JavaScript, after clicking the paragraph number: location %q; want it to end in %q", loc, href)
	}
}
