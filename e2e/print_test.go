package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// referencePages is the number of A4 pages the reference draft prints to:
// a title page, the contents, and the text flowing over two pages (empty
// sections left out, sections not starting a page each).
const referencePages = 4

// TestPrintPublication prints the reading view and the HTML export of a
// reference draft to PDF with Chromium, as a reader would with the
// browser's Print, and reads the PDF back with poppler's tools: the page
// count, every paragraph in the text, a page number on every page but the
// title page, no page ending on a heading, no section left empty on paper,
// the fonts for Latin, CJK, Arabic and emoji embedded, and nothing in it
// that goes stale.
func TestPrintPublication(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not part of the fast tier (go test -short)")
	}
	for _, tool := range []string{"pdftotext", "pdffonts", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (%v); run ./scripts/test, which installs poppler-utils", tool, err)
		}
	}
	s := newServer(t)
	id := s.importReference(t)
	// The draft is the team's until it is published: the reader is of
	// the Secretariat.
	b := newBrowser(t, "Reader")
	b.signIn(s.env.NewPerson(t, access.Secretariat, ""))

	exportHTML := s.get(t, "/api/documents/"+id+"/export?format=html")
	for _, stale := range []string{"Open for public comment until", "doc-phase\"", "<script"} {
		if strings.Contains(string(exportHTML), stale) {
			t.Errorf("the HTML export holds %q; want nothing that goes stale and no script", stale)
		}
	}
	exportFile := filepath.Join(t.TempDir(), "export.html")
	if err := os.WriteFile(exportFile, exportHTML, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, target := range []struct{ name, url string }{
		{"reading view", s.env.URL + "/d/" + id},
		{"HTML export", "file://" + exportFile},
	} {
		t.Run(target.name, func(t *testing.T) {
			b.must("open "+target.name, 20*time.Second, chromedp.Navigate(target.url), chromedp.WaitReady(chromedp.CSS("main")))
			paras, err := eval[[]string](b, `[...document.querySelectorAll("main [data-para], .doc-notes li")].map(e => e.innerText)`)
			if err != nil {
				t.Fatal(err)
			}
			if len(paras) < 15 {
				t.Fatalf("got %d paragraphs on the page; want the reference draft's", len(paras))
			}
			pdf := b.printPDF(t)
			pages := pdfPages(t, pdf, true)
			if len(pages) != referencePages {
				t.Errorf("got %d pages; want %d", len(pages), referencePages)
			}
			// Text in reading order; a right-to-left paragraph comes out of
			// the PDF line by line in visual order, so its words are looked for.
			text := strings.Join(pdfPages(t, pdf, false), "")
			all, words := squash(text), map[string]bool{}
			for _, w := range strings.Fields(stripBidi(text)) {
				words[strings.Trim(w, ".،,")] = true
			}
			for _, p := range paras {
				if !hasArabic(p) {
					if !strings.Contains(all, squash(p)) {
						t.Errorf("paragraph %q is not in the PDF's text", p)
					}
					continue
				}
				for _, w := range strings.Fields(p) {
					if !words[strings.Trim(w, ".،,")] {
						t.Errorf("word %q of paragraph %q is not in the PDF's text", w, p)
					}
				}
			}
			for i, pg := range pages {
				lines := nonBlankLines(pg)
				if len(lines) == 0 {
					t.Errorf("page %d is blank", i+1)
					continue
				}
				last := strings.TrimSpace(lines[len(lines)-1])
				if i == 0 {
					if last == "1" {
						t.Errorf("the title page has a page number")
					}
					continue
				}
				contents := strings.TrimSpace(lines[0]) == "Contents"
				if last != strconv.Itoa(i+1) {
					t.Errorf("page %d ends with %q; want its page number", i+1, last)
				}
				if len(lines) >= 2 && !contents {
					if h := strings.TrimSpace(lines[len(lines)-2]); isHeadingText(h) {
						t.Errorf("page %d ends on the heading %q", i+1, h)
					}
				}
			}
			for _, gone := range []string{"Regional specificities", "no text yet", "Open for public comment until"} {
				if strings.Contains(strings.Join(pages, ""), gone) {
					t.Errorf("the printed document shows %q; want empty sections and the live banner left out", gone)
				}
			}
			fonts := pdfFonts(t, pdf)
			for _, want := range []string{"NotoSerif-Regular", "NotoNaskhArabic"} {
				if !strings.Contains(fonts, want) {
					t.Errorf("no %s font embedded; fonts:\n%s", want, fonts)
				}
			}
			// CJK and colour emoji are embedded as Type 3 fonts without a
			// name: ask the browser which faces printed them.
			for sel, want := range map[string]string{
				`section[aria-labelledby="s-case-studies"] h3:nth-of-type(2)`: "CJK",
				`section[aria-labelledby="s-case-studies"] h3:nth-of-type(3)`: "Arabic",
				`section[aria-labelledby="s-insights"] p`:                     "Emoji",
			} {
				if got := b.printFonts(t, sel); !strings.Contains(got, want) {
					t.Errorf("%s is printed in %q; want a %s face", sel, got, want)
				}
			}
			if target.name == "reading view" {
				savePrintedPage(t, pdf, 3)
			}
		})
	}
}

// isHeadingText reports the reference draft's section and sub-section
// headings as pdftotext prints them.
func isHeadingText(line string) bool {
	for _, h := range []string{"Definition of the issue", "Brief presentation", "Compilation of", "Insights gained", "Annex: contributors",
		"Who is affected", "A health data trust", "横浜市のオープンデータ", "Notes"} {
		if strings.Contains(line, h) {
			return true
		}
	}
	return false
}

// importReference imports the reference draft into a BPF whose draft is
// open for public comment, so that the reading view has a live banner.
// The API is used as the Secretariat.
func (s *server) importReference(t *testing.T) string {
	t.Helper()
	meeting := time.Now().UTC().AddDate(0, 0, 20)
	bpf := s.postJSON(t, "/api/bpfs", fmt.Sprintf(`{"name":"BPF Data Governance","year":%d,"meeting_date":%q}`, meeting.Year(), meeting.Format(time.DateOnly)))
	src, err := os.ReadFile("testdata/reference-draft.md")
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"template": {"bpf-output"}, "bpf": {bpf["id"].(string)}}
	status, data := s.env.Call(t, "POST", "/api/documents/import?"+q.Encode(), "text/markdown", string(src))
	var out struct {
		Document struct{ ID string } `json:"document"`
	}
	if status != http.StatusCreated || json.Unmarshal(data, &out) != nil {
		t.Fatalf("import of the reference draft: %d %s", status, data)
	}
	return out.Document.ID
}

// postJSON posts a JSON body as the Secretariat and returns the answer,
// which must be 201 Created.
func (s *server) postJSON(t *testing.T, path, body string) map[string]any {
	t.Helper()
	status, data := s.env.Call(t, "POST", path, "application/json", body)
	var out map[string]any
	if status != http.StatusCreated || json.Unmarshal(data, &out) != nil {
		t.Fatalf("POST %s: %d %s", path, status, data)
	}
	return out
}

// get gets path as the Secretariat; the answer must be 200 OK.
func (s *server) get(t *testing.T, path string) []byte {
	t.Helper()
	status, data := s.env.Call(t, "GET", path, "", "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, data)
	}
	return data
}

// printPDF prints the page as the browser's Print does: the page's own
// @page size and margins, no header or footer of the browser's.
func (b *browser) printPDF(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	yes, no := true, false
	res, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &yes, DisplayHeaderFooter: &no, PrintBackground: &yes})
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if !bytes.HasPrefix(res.Data, []byte("%PDF")) {
		t.Fatalf("print to PDF: got no PDF")
	}
	return res.Data
}

// printFonts names the faces the browser uses to print the text of the
// first element matching sel.
func (b *browser) printFonts(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	defer chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	if _, err := chromedp.Call(ctx, css.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(sel)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("%s: %v", sel, err)
	}
	res, err := chromedp.Call(ctx, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: nodes[0].NodeID})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Fonts {
		names = append(names, f.FamilyName)
	}
	return strings.Join(names, ", ")
}

// pdfPages returns the text of each page (pdftotext separates pages with
// form feeds), laid out as printed or in reading order.
func pdfPages(t *testing.T, pdf []byte, layout bool) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-enc", "UTF-8", f, "-"}
	if layout {
		args = append([]string{"-layout"}, args...)
	}
	out, err := exec.Command("pdftotext", args...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(string(out), "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	return pages
}

func pdfFonts(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "fonts.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdffonts", f).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	return string(out)
}

// savePrintedPage keeps a picture of one printed page among the artifacts,
// and in docs/ when BPFDRAFT_UPDATE_SCREENSHOT is set.
func savePrintedPage(t *testing.T, pdf []byte, n int) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "page")
	if out, err := exec.Command("pdftoppm", "-png", "-r", "70", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-singlefile", f, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	png, err := os.ReadFile(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	dest := []string{filepath.Join(artifactDir(t), "printed-page.png")}
	if os.Getenv("BPFDRAFT_UPDATE_SCREENSHOT") != "" {
		dest = append(dest, filepath.Join("..", "docs", "printed-page.png"))
	}
	for _, d := range dest {
		if err := os.WriteFile(d, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("printed page %d: %s", n, d)
	}
}

// squash drops whitespace, so text compares across line breaks, and
// symbols: emoji and arrows are printed as pictures, which pdftotext may
// place anywhere on their line or leave out (the fonts that print them are
// checked on their own).
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.So, r) || unicode.Is(unicode.Sm, r) || r == 0xFE0F {
			return -1
		}
		return r
	}, s)
}

func hasArabic(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Arabic, r) })
}

// stripBidi drops the directional marks pdftotext puts around
// right-to-left runs.
func stripBidi(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F {
			return ' '
		}
		return r
	}, s)
}

func nonBlankLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
