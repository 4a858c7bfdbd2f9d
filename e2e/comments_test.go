package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/chromedp/chromedp"
)

// The text the team writes before the document opens for comment, and
// the words the public comments on.
const (
	commentPara1  = "Small enterprises face ransomware without any security staff."
	commentPara2  = "Regional CERTs share indicator feeds through informal channels."
	commentPhrase = "indicator feeds"
	commentText   = "Which feeds? Name the platforms, so that small firms can join them."
)

// commentAnchor is an anchor of GET /api/documents/{id}/comments.
type commentAnchor struct {
	Section string `json:"section"`
	Para    string `json:"para"`
	Quote   *struct {
		Exact string `json:"exact"`
	} `json:"quote"`
	Start   int    `json:"start"`
	End     int    `json:"end"`
	Version int    `json:"version"`
	State   string `json:"state"`
}

// commentThread is a thread of GET /api/documents/{id}/comments.
type commentThread struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Text   string         `json:"text"`
	Status string         `json:"status"`
	Anchor *commentAnchor `json:"anchor"`
	MadeOn *commentAnchor `json:"made_on"`
}

// comment returns the thread id as the API shows it to the Secretariat.
func (s *server) comment(t *testing.T, id string) commentThread {
	t.Helper()
	var out struct {
		Comments []commentThread `json:"comments"`
	}
	s.env.GetJSON(t, "/api/documents/"+s.docID+"/comments", http.StatusOK, &out)
	for _, c := range out.Comments {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("the API lists no comment %s: %+v", id, out.Comments)
	return commentThread{}
}

// utf16Slice returns text[start:end] with start and end in UTF-16 units,
// as the API gives positions; ok is false when they are outside it.
func utf16Slice(text string, start, end int) (string, bool) {
	u := utf16.Encode([]rune(text))
	if start < 0 || end < start || end > len(u) {
		return "", false
	}
	return string(utf16.Decode(u[start:end])), true
}

// selectWords selects the first occurrence of words in a paragraph of the
// reading view, as a person's drag of the mouse would, and returns the
// paragraph's data-para ("" when the words are not there).
func selectWords(b *browser, words string) string {
	b.t.Helper()
	para, err := eval[string](b, fmt.Sprintf(`(() => {
		const words = %q
		for (const el of document.querySelectorAll("section.doc-section [data-para]")) {
			const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
			for (let n = w.nextNode(); n; n = w.nextNode()) {
				const i = n.data.indexOf(words)
				if (i < 0) continue
				const r = document.createRange()
				r.setStart(n, i)
				r.setEnd(n, i + words.length)
				const sel = getSelection()
				sel.removeAllRanges()
				sel.addRange(r)
				el.scrollIntoView({block: "center"})
				return el.dataset.para
			}
		}
		return ""
	})()`, words))
	if err != nil {
		b.t.Fatalf("%s: selecting %q: %v", b.name, words, err)
	}
	return para
}

// editText selects n UTF-16 units of a section's text from the first
// occurrence of find in the browser's editor, and types keys over them
// with real key events (a person's typing); then waits until the server
// has the text.
func editText(t *testing.T, s *server, b *browser, section, find string, n int, keys string) {
	t.Helper()
	at, err := eval[int](b, fmt.Sprintf(`(() => {
		const view = window.bpfdraft.app.views.get(%q).view
		const i = view.state.doc.toString().indexOf(%q)
		if (i < 0) return -1
		view.focus()
		view.dispatch({selection: {anchor: i, head: i + %d}})
		return i
	})()`, section, find, n))
	if err != nil || at < 0 {
		t.Fatalf("%s: %q is not in the editor of %s (%v)", b.name, find, section, err)
	}
	b.must("type "+fmt.Sprintf("%q", keys), 30*time.Second, chromedp.KeyEvent(keys))
	converged(t, s, 30*time.Second, b)
}

// markedWords returns the words the editor of section marks for comment id.
func markedWords(b *browser, section, id string) (string, error) {
	return eval[string](b, fmt.Sprintf(`[...document.querySelectorAll('[data-section=%q] .cm-comment-quote[data-comment=%q]')].map(e => e.textContent).join("")`, section, id))
}

// countedLine returns the text of the line of section's editor that
// carries the count of comments n ("" when none does).
func countedLine(b *browser, section string, n int) (string, error) {
	return eval[string](b, fmt.Sprintf(`(() => {
		const l = document.querySelector('[data-section=%q] .cm-line.cm-comment-para[data-comments="%d"]')
		return l ? l.textContent : ""
	})()`, section, n))
}

// TestCommentOnWordsLive: the team writes two paragraphs and the
// Secretariat opens the document for public comment; a member of the
// public selects words of a paragraph on the reading view and comments on
// them through "Comment on these words" and the comment page. The
// co-facilitator's editor, open all along, marks the words and lists the
// comment without reloading; the co-facilitator rewrites the sentence
// around the words and splits the paragraph, and the comment stays on the
// words (the API's anchor, the mark); deleting the words orphans it, as
// the panel says. axe-core checks the editing view with its comments and
// the reading view with its comments.
func TestCommentOnWordsLive(t *testing.T) {
	script := axeScript(t)
	s := newServer(t)
	section := s.sections[0]
	ana := s.memberBrowser(t, "Ana Silva")
	ana.openEditor(s)
	if err := ana.typeAt(section, true, "\r"+commentPara1+"\r"+commentPara2); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 30*time.Second, ana)

	// Open for comment around the server's clock (it runs on time.Now).
	now := time.Now().UTC()
	var wf editor.Workflow
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/workflow", map[string]any{"stage": "public-comment", "opens": now.Add(-time.Hour), "closes": now.AddDate(0, 0, 30)}, http.StatusOK, &wf)
	if wf.StageOf() != editor.StagePublicComment || !wf.WindowOpen(time.Now()) {
		t.Fatalf("workflow: %+v; want public comment, open now", wf)
	}
	// Ana's page is never reloaded from here: this mark would go.
	if _, err := eval[chromedp.Void](ana, `window.e2eSamePage = "yes"`); err != nil {
		t.Fatal(err)
	}
	ana.must("see the empty comments panel", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#comments h2#comments-title`)))
	eventually(t, 30*time.Second, "Ana's panel has loaded", func() string {
		if got := ana.text("#comments-msg"); got != "No comments yet." {
			return fmt.Sprintf("panel says %q", got)
		}
		return ""
	})

	// A member of the public, on the reading view.
	pb := ana.newContext("Amina Yusuf")
	pb.signIn(s.env.NewPerson(t, access.Public, ""))
	pb.must("open the reading view", 30*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS(`.comments .comment-add a[href*="para="]`)),
	)
	if n, err := eval[int](pb, `document.querySelectorAll('script[src^="/static/reading.js"]').length`); err != nil || n != 1 {
		t.Fatalf("the reading view loads /static/reading.js %d times (%v); want once: readingView's Scripts needs frontend.AssetURL(frontend.ReadingScript)", n, err)
	}
	para := selectWords(pb, commentPhrase)
	if para == "" {
		t.Fatalf("the reading view has no paragraph with %q: %s", commentPhrase, pb.text("main"))
	}
	pb.must("see the link to comment on the words", 30*time.Second, chromedp.WaitVisible(chromedp.CSS("#comment-on-words")))
	if got := pb.text("#comment-on-words"); got != "Comment on these words" {
		t.Errorf("the link says %q; want %q", got, "Comment on these words")
	}
	href, err := url.Parse(pb.attr("#comment-on-words", "href"))
	if err != nil {
		t.Fatal(err)
	}
	if q := href.Query(); href.Path != "/d/"+s.docID+"/comment" || q.Get("section") != section || q.Get("para") != para || q.Get("quote") != commentPhrase {
		t.Errorf("the link goes to %s; want /d/%s/comment with section %s, para %s and quote %q", href, s.docID, section, para, commentPhrase)
	}
	pb.follow("comment on these words", "#comment-on-words", "#quote")
	if got, err := run(pb, chromedp.Value(chromedp.CSS("#quote"))); err != nil || got != commentPhrase {
		t.Errorf("the comment page's words: %q (%v); want %q", got, err, commentPhrase)
	}
	pb.must("write the comment", 20*time.Second, chromedp.SendKeys(chromedp.CSS("#text"), commentText))
	pb.submit("post the comment", `main form[action$="/comment"]`, `.comments .comment-quote`)
	loc, err := url.Parse(pb.location())
	if err != nil || !strings.HasPrefix(loc.Fragment, "comment-") {
		t.Fatalf("after posting: at %s (%v); want the reading view at #comment-…", pb.location(), err)
	}
	id := strings.TrimPrefix(loc.Fragment, "comment-")
	c := s.comment(t, id)
	if c.Anchor == nil || c.Anchor.Quote == nil || c.Anchor.Quote.Exact != commentPhrase || c.Anchor.Para != para || c.Anchor.State != "anchored" || c.Text != commentText {
		t.Fatalf("the comment as the API has it: %+v %+v; want on %q in paragraph %s, anchored", c, c.Anchor, commentPhrase, para)
	}

	// Ana's editor, without a reload: the words marked, the paragraph
	// counted, the comment in the panel, announced.
	eventually(t, 30*time.Second, "Ana's editor marks the words", func() string {
		got, err := markedWords(ana, section, id)
		if err != nil {
			return err.Error()
		}
		if got != commentPhrase {
			return fmt.Sprintf("marked %q; want %q", got, commentPhrase)
		}
		return ""
	})
	item := fmt.Sprintf(`#comments-list li.comment-thread[data-comment=%q]`, id)
	eventually(t, 30*time.Second, "Ana's panel lists the comment", func() string {
		got := ana.text(item)
		for _, want := range []string{c.Name, commentPhrase, commentText, "On words in section 1"} {
			if !strings.Contains(got, want) {
				return fmt.Sprintf("panel item %q lacks %q", got, want)
			}
		}
		if st := ana.attr(item, "data-status"); st != "open" {
			return "status " + st
		}
		return ""
	})
	if line, err := countedLine(ana, section, 1); err != nil || !strings.HasPrefix(line, "Regional CERTs") {
		t.Errorf("the count of comments is on line %q (%v); want the paragraph's first line, %q", line, err, commentPara2)
	}
	if got := ana.text("#comments-title"); got != "Comments (1)" {
		t.Errorf("panel heading %q; want %q", got, "Comments (1)")
	}
	eventually(t, 10*time.Second, "the new comment is announced", func() string {
		if got := ana.text("#comments-live"); got != "1 new comment" {
			return fmt.Sprintf("live region says %q", got)
		}
		return ""
	})
	if same, err := eval[string](ana, `window.e2eSamePage || ""`); err != nil || same != "yes" {
		t.Fatalf("Ana's page was reloaded (%v)", err)
	}
	ana.screenshot("comments-editor")
	checkAxe(t, "editing view with comments", runAxe(t, ana, script))

	// The panel's way to the words: the editor's selection is on them.
	ana.must("show the words in the text", 20*time.Second, chromedp.Click(chromedp.CSS(item+" .comment-goto")))
	eventually(t, 10*time.Second, "the editor selects the words", func() string {
		got, err := eval[string](ana, fmt.Sprintf(`(() => { const v = window.bpfdraft.app.views.get(%q).view; const r = v.state.selection.main; return v.hasFocus ? v.state.sliceDoc(r.from, r.to) : "<not focused>" })()`, section))
		if err != nil {
			return err.Error()
		}
		if got != commentPhrase {
			return fmt.Sprintf("selection %q", got)
		}
		return ""
	})

	// Ana rewrites the sentence around the words, then splits the
	// paragraph before them: an Enter is a new paragraph.
	editText(t, s, ana, section, "Regional CERTs share", len("Regional CERTs share"), "Most national CERTs answered the survey. They share")
	editText(t, s, ana, section, " through informal channels.", len(" through informal channels."), " over mailing lists and chat groups.")
	editText(t, s, ana, section, " They share", 1, "\r")
	d, err := s.document(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var text string
	var paras []string
	for _, sec := range d.Sections {
		if sec.ID == section {
			text, paras = sec.Text, sec.Paras
		}
	}
	const moved = "They share indicator feeds over mailing lists and chat groups."
	spans := editor.Paragraphs(text)
	where := -1
	for i, sp := range spans {
		if text[sp.Start:sp.End] == moved {
			where = i
		}
	}
	if where < 0 || where >= len(paras) || !strings.Contains(text, "Most national CERTs answered the survey.\n") {
		t.Fatalf("server text after the rewrite: %q (paragraphs %v); want %q a paragraph of its own", text, paras, moved)
	}
	c = s.comment(t, id)
	a := c.Anchor
	if a == nil || a.State != "anchored" || a.Para != paras[where] || a.Para == para || c.Status != "open" {
		t.Fatalf("the comment after the rewrite: %+v %+v; want anchored in the new paragraph %s (not %s)", c, a, paras[where], para)
	}
	if got, ok := utf16Slice(text, a.Start, a.End); !ok || got != commentPhrase {
		t.Errorf("the anchor's range %d-%d holds %q; want %q", a.Start, a.End, got, commentPhrase)
	}
	if c.MadeOn == nil || c.MadeOn.Para != para {
		t.Errorf("made_on: %+v; want paragraph %s", c.MadeOn, para)
	}
	eventually(t, 30*time.Second, "the mark and the count follow the words", func() string {
		got, err := markedWords(ana, section, id)
		if err != nil {
			return err.Error()
		}
		if got != commentPhrase {
			return fmt.Sprintf("marked %q; want %q", got, commentPhrase)
		}
		line, err := countedLine(ana, section, 1)
		if err != nil {
			return err.Error()
		}
		if !strings.HasPrefix(line, "They share") {
			return fmt.Sprintf("counted line %q; want the one of %q", line, moved)
		}
		return ""
	})

	// Ana deletes the words: the comment is orphaned, and the panel says so.
	editText(t, s, ana, section, commentPhrase+" ", len(commentPhrase)+1, "\b")
	eventually(t, 30*time.Second, "the API orphans the comment", func() string {
		c := s.comment(t, id)
		if c.Status != "orphaned" || c.Anchor == nil || c.Anchor.State != "orphaned" {
			return fmt.Sprintf("status %s, anchor %+v", c.Status, c.Anchor)
		}
		return ""
	})
	eventually(t, 30*time.Second, "Ana's panel shows the comment orphaned", func() string {
		if st := ana.attr(item, "data-status"); st != "orphaned" {
			return "status " + st
		}
		got := ana.text(item)
		for _, want := range []string{commentPhrase, "no longer in the text", commentText} {
			if !strings.Contains(got, want) {
				return fmt.Sprintf("panel item %q lacks %q", got, want)
			}
		}
		if got, err := markedWords(ana, section, id); err != nil || got != "" {
			return fmt.Sprintf("the editor still marks %q (%v)", got, err)
		}
		if line, err := countedLine(ana, section, 1); err != nil || line != "" {
			return fmt.Sprintf("a count is still on %q (%v)", line, err)
		}
		return ""
	})
	// The panel's filter by status.
	filter := func(status string) int {
		t.Helper()
		n, err := eval[int](ana, fmt.Sprintf(`(() => {
			const sel = document.getElementById("comments-status")
			sel.value = %q
			sel.dispatchEvent(new Event("change"))
			return document.querySelectorAll("#comments-list li.comment-thread").length
		})()`, status))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if open, orphaned, all := filter("open"), filter("orphaned"), filter(""); open != 0 || orphaned != 1 || all != 1 {
		t.Errorf("threads listed: %d open, %d orphaned, %d in all; want 0, 1, 1", open, orphaned, all)
	}
	if same, err := eval[string](ana, `window.e2eSamePage || ""`); err != nil || same != "yes" {
		t.Fatalf("Ana's page was reloaded (%v)", err)
	}
	ana.screenshot("comments-editor-orphaned")

	// The reading view with its comments, the words selected again.
	pb.must("open the reading view again", 30*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS(`.comments .comment-quote`)),
	)
	if selectWords(pb, commentPhrase) == "" {
		t.Fatalf("the published text lacks %q", commentPhrase)
	}
	pb.must("see the link to comment on the words", 30*time.Second, chromedp.WaitVisible(chromedp.CSS("#comment-on-words")))
	pb.screenshot("comments-reading-view")
	checkAxe(t, "reading view with comments", runAxe(t, pb, script))
}
