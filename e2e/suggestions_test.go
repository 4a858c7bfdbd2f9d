package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/chromedp/chromedp"
)

// The text the team writes before the document opens for comment, the
// words of it a member of the public suggests new wording for, and what
// they suggest.
const (
	suggestPara1    = "Small enterprises face ransomware without any security staff."
	suggestPara2    = "Regional CERTs share indicator feeds through informal channels."
	suggestQuote    = "through informal channels"
	suggestWording  = "through a shared MISP platform"
	suggestComment  = "Informal channels leave out small firms: name a platform they can join."
	suggestResponse = "Merged: the paragraph now names the MISP platform."
	// suggestMerged is the paragraph with the suggestion merged.
	suggestMerged = "Regional CERTs share indicator feeds through a shared MISP platform."
)

// suggestThread is a thread of GET /api/documents/{id}/comments with
// what a suggestion adds to it.
type suggestThread struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	Text        string  `json:"text"`
	Suggestion  *string `json:"suggestion"`
	Original    string  `json:"original"`
	Merged      bool    `json:"merged"`
	Disposition string  `json:"disposition"`
	Response    string  `json:"response"`
	Redline     []struct {
		Op   string `json:"op"`
		Text string `json:"text"`
	} `json:"redline"`
	Anchor *commentAnchor `json:"anchor"`
}

// suggestion returns thread id as the API shows it to the Secretariat.
func (s *server) suggestion(t *testing.T, id string) suggestThread {
	t.Helper()
	var out struct {
		Comments []suggestThread `json:"comments"`
	}
	s.env.GetJSON(t, "/api/documents/"+s.docID+"/comments", http.StatusOK, &out)
	for _, c := range out.Comments {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("the API lists no comment %s: %+v", id, out.Comments)
	return suggestThread{}
}

// shownRedline is a suggestion as a page shows it: the text of its
// redline's <del>s and <ins>s, the whole redline, and what it is called.
type shownRedline struct {
	Del   string `json:"del"`
	Ins   string `json:"ins"`
	Whole string `json:"whole"`
	Label string `json:"label"`
}

// redlineIn reads the suggestion shown in the element sel.
func redlineIn(b *browser, sel string) (shownRedline, error) {
	return eval[shownRedline](b, fmt.Sprintf(`(() => {
		const s = document.querySelector(%q)
		if (!s) return {del: "", ins: "", whole: "", label: "<no suggestion>"}
		const r = s.querySelector(".redline")
		const texts = q => [...s.querySelectorAll(".redline " + q)].map(e => e.textContent).join("|")
		const strong = s.querySelector("strong")
		return {del: texts("del"), ins: texts("ins"), whole: r ? r.textContent : "", label: strong ? strong.textContent : ""}
	})()`, sel))
}

// editorDoc returns the text of section's CodeMirror editor: its state
// and the lines it draws.
func editorDoc(b *browser, section string) (state string, lines []string, err error) {
	out, err := eval[struct {
		State string   `json:"state"`
		Lines []string `json:"lines"`
	}](b, fmt.Sprintf(`(() => {
		const view = window.bpfdraft.app.views.get(%q).view
		return {state: view.state.doc.toString(),
			lines: [...view.contentDOM.querySelectorAll(".cm-line")].map(l => l.textContent)}
	})()`, section))
	return out.State, out.Lines, err
}

// TestSuggestionAcceptedLive: the team writes a paragraph and the
// Secretariat opens the document for public comment; a member of the
// public suggests new wording for words of the paragraph on the comment
// page (quote and "New wording"). The co-facilitator's editor, open all
// along, shows the suggestion's redline in its comments panel without
// reloading. The Secretariat, signed in through the sign-in page, follows
// "Accept the suggestion" from the reading view and merges it: the
// co-facilitator's editor receives the merged words (once) without
// reloading, as the server has them, and the disposition report records
// the comment as accepted with the Secretariat's response.
func TestSuggestionAcceptedLive(t *testing.T) {
	s := newServer(t)
	section := s.sections[0]
	ana := s.memberBrowser(t, "Ana Silva")
	ana.openEditor(s)
	if err := ana.typeAt(section, true, "\r"+suggestPara1+"\r"+suggestPara2); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 30*time.Second, ana)

	// The paragraph's id, as the server has it.
	d, err := s.document(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	para := ""
	for _, sec := range d.Sections {
		if sec.ID != section {
			continue
		}
		for i, sp := range editor.Paragraphs(sec.Text) {
			if sec.Text[sp.Start:sp.End] == suggestPara2 && i < len(sec.Paras) {
				para = sec.Paras[i]
			}
		}
	}
	if para == "" {
		t.Fatalf("the server has no paragraph %q in section %s: %+v", suggestPara2, section, d.Sections)
	}

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
	samePage := func(when string) {
		t.Helper()
		if same, err := eval[string](ana, `window.e2eSamePage || ""`); err != nil || same != "yes" {
			t.Fatalf("Ana's page was reloaded %s (%v)", when, err)
		}
	}
	ana.must("see the empty comments panel", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#comments h2#comments-title`)))
	eventually(t, 30*time.Second, "Ana's panel has loaded", func() string {
		if got := ana.text("#comments-msg"); got != "No comments yet." {
			return fmt.Sprintf("panel says %q", got)
		}
		return ""
	})

	// A member of the public suggests new wording for the words, on the
	// comment page.
	pb := ana.newContext("Amina Yusuf")
	amina := s.env.NewPerson(t, access.Public, "")
	// She agreed to be named in the report, with her affiliation.
	amina.Account.Name, amina.Account.Affiliation, amina.Account.NamedInReport = "Amina Yusuf", "Kenya ICT Action Network", true
	if err := s.env.Store.UpdateAccount(context.Background(), amina.Account); err != nil {
		t.Fatal(err)
	}
	pb.signIn(amina)
	q := url.Values{"section": {section}, "para": {para}, "quote": {suggestQuote}}
	pb.must("open the comment page", 30*time.Second,
		chromedp.Navigate(s.readingURL()+"/comment?"+q.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#suggestion")),
	)
	if got := pb.text(`label[for="suggestion"]`); got != "New wording (optional)" {
		t.Errorf("the suggestion's label says %q; want %q", got, "New wording (optional)")
	}
	if got, err := run(pb, chromedp.Value(chromedp.CSS("#quote"))); err != nil || got != suggestQuote {
		t.Errorf("the comment page's words: %q (%v); want %q", got, err, suggestQuote)
	}
	if got := pb.text("blockquote.comment-context"); got != suggestPara2 {
		t.Errorf("the comment page quotes the paragraph as %q; want %q", got, suggestPara2)
	}
	// The new wording starts as the words it is for, to be edited.
	if got, err := eval[string](pb, `document.querySelector("#suggestion").value`); err != nil || got != suggestQuote {
		t.Errorf("the new wording starts as %q (%v); want the words %q", got, err, suggestQuote)
	}
	pb.must("write the new wording and the comment", 20*time.Second,
		chromedp.Clear(chromedp.CSS("#suggestion")),
		chromedp.SendKeys(chromedp.CSS("#suggestion"), suggestWording),
		chromedp.SendKeys(chromedp.CSS("#text"), suggestComment),
	)
	pb.submit("post the suggestion", `main form[action$="/comment"]`, `.comments .suggestion .redline`)
	loc, err := url.Parse(pb.location())
	if err != nil || !strings.HasPrefix(loc.Fragment, "comment-") {
		t.Fatalf("after posting: at %s (%v); want the reading view at #comment-…", pb.location(), err)
	}
	id := strings.TrimPrefix(loc.Fragment, "comment-")
	c := s.suggestion(t, id)
	if c.Suggestion == nil || *c.Suggestion != suggestWording || c.Original != suggestQuote || c.Merged || c.Text != suggestComment || c.Status != "open" {
		t.Fatalf("the suggestion as the API has it: %+v; want %q for %q, open, not merged", c, suggestWording, suggestQuote)
	}
	if c.Anchor == nil || c.Anchor.Para != para || c.Anchor.Quote == nil || c.Anchor.Quote.Exact != suggestQuote {
		t.Fatalf("the suggestion's anchor: %+v; want on %q in paragraph %s", c.Anchor, suggestQuote, para)
	}
	var dels, inss []string
	for _, p := range c.Redline {
		switch p.Op {
		case "-":
			dels = append(dels, p.Text)
		case "+":
			inss = append(inss, p.Text)
		}
	}
	if strings.Join(dels, "|") != "informal channels" || strings.Join(inss, "|") != "a shared MISP platform" {
		t.Errorf("the API's redline: %+v; want %q deleted and %q inserted", c.Redline, "informal channels", "a shared MISP platform")
	}
	if got, err := redlineIn(pb, "#comment-"+id+" .suggestion"); err != nil || got.Del != "informal channels" || got.Ins != "a shared MISP platform" {
		t.Errorf("the reading view's redline: %+v (%v); want %q deleted and %q inserted", got, err, "informal channels", "a shared MISP platform")
	}

	// Ana's panel, without a reload: the suggestion's redline, the old
	// words deleted and the new ones inserted.
	item := fmt.Sprintf(`#comments-list li.comment-thread[data-comment=%q]`, id)
	eventually(t, 30*time.Second, "Ana's panel shows the suggestion's redline", func() string {
		got, err := redlineIn(ana, item+" .suggestion")
		if err != nil {
			return err.Error()
		}
		if got.Del != "informal channels" || got.Ins != "a shared MISP platform" || got.Whole != "through informal channelsa shared MISP platform" || got.Label != "Suggested wording: " {
			return fmt.Sprintf("redline %+v", got)
		}
		if text := ana.text(item); !strings.Contains(text, suggestComment) || !strings.Contains(text, suggestQuote) {
			return fmt.Sprintf("panel item %q lacks the comment or its words", text)
		}
		return ""
	})
	samePage("while the suggestion arrived")

	// The Secretariat, through the sign-in page, to the reading view, and
	// from it to the page that accepts the suggestion.
	sb := ana.newContext("the Secretariat")
	header := sb.signInPage(s.env.URL, s.env.Account.Email, s.env.Password, "/d/"+s.docID)
	if want := "Signed in as " + s.env.Account.Name; !strings.Contains(header, want) {
		t.Errorf("site header after signing in: got %q; want %q", header, want)
	}
	accept := fmt.Sprintf(`#comment-%s .comment-actions a[href="/d/%s/comments/%s/accept"]`, id, s.docID, id)
	sb.must("see the link to accept the suggestion", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(accept)))
	if got := sb.text(accept); got != "Accept the suggestion" {
		t.Errorf("the link says %q; want %q", got, "Accept the suggestion")
	}
	sb.follow("open the page to accept the suggestion", accept, "#response")
	if got, err := run(sb, chromedp.Value(chromedp.CSS("#text"))); err != nil || got != suggestWording {
		t.Errorf("the wording to merge: %q (%v); want %q", got, err, suggestWording)
	}
	if got := sb.text("main button[type=submit]"); got != "Merge it into the text" {
		t.Errorf("the button says %q; want %q", got, "Merge it into the text")
	}
	sb.must("write the public response", 20*time.Second,
		chromedp.Clear(chromedp.CSS("#response")),
		chromedp.SendKeys(chromedp.CSS("#response"), suggestResponse),
	)
	sb.submit("merge the suggestion", `main form[action$="/accept"]`, fmt.Sprintf(`#comment-%s .suggestion`, id))
	if got := sb.text(fmt.Sprintf(`#comment-%s .suggestion strong`, id)); got != "Suggested wording, merged into the text:" {
		t.Errorf("the reading view says %q of the suggestion; want it merged", got)
	}
	if n, err := eval[int](sb, fmt.Sprintf(`document.querySelectorAll(%q).length`, accept)); err != nil || n != 0 {
		t.Errorf("the reading view still offers to accept the merged suggestion (%d links, %v)", n, err)
	}

	// Ana's editor, without a reload: the merged words, once, as the
	// server has them.
	eventually(t, 30*time.Second, "Ana's editor shows the merged text", func() string {
		state, lines, err := editorDoc(ana, section)
		if err != nil {
			return err.Error()
		}
		if !strings.Contains(state, suggestMerged) {
			return fmt.Sprintf("editor text %q", state)
		}
		for _, l := range lines {
			if l == suggestMerged {
				return ""
			}
		}
		return fmt.Sprintf("the editor draws the lines %q", lines)
	})
	texts := converged(t, s, 30*time.Second, ana)
	state, _, err := editorDoc(ana, section)
	if err != nil {
		t.Fatal(err)
	}
	if state != texts[section] {
		t.Errorf("Ana's editor has %q; the server %q", state, texts[section])
	}
	for where, text := range map[string]string{"Ana's editor": state, "the server's text": texts[section]} {
		checkOnce(t, where, text, []string{"shared", "MISP", "platform", "Regional", "CERTs", "feeds"})
		if counts := countWords(text); counts["informal"] != 0 || counts["channels"] != 0 {
			t.Errorf("%s still has the replaced words: %q", where, text)
		}
		if n := strings.Count(text, suggestMerged); n != 1 {
			t.Errorf("%s has the merged paragraph %d times; want once: %q", where, n, text)
		}
		if !strings.Contains(text, suggestPara1+"\n") {
			t.Errorf("%s lost the first paragraph: %q", where, text)
		}
	}
	c = s.suggestion(t, id)
	if !c.Merged || c.Disposition != "accepted" || c.Response != suggestResponse {
		t.Errorf("the suggestion as the API has it after the merge: merged %v, disposition %q, response %q; want merged, accepted, %q", c.Merged, c.Disposition, c.Response, suggestResponse)
	}
	eventually(t, 30*time.Second, "Ana's panel shows the suggestion merged", func() string {
		got, err := redlineIn(ana, item+" .suggestion")
		if err != nil {
			return err.Error()
		}
		if got.Label != "Suggested wording, merged: " {
			return fmt.Sprintf("redline %+v", got)
		}
		return ""
	})
	samePage("while the suggestion was merged")

	// The disposition report, as the Secretariat and as the public see it.
	row := fmt.Sprintf(`#comment-%s`, id)
	for _, b := range []*browser{sb, pb} {
		b.must("open the disposition report", 30*time.Second,
			chromedp.Navigate(s.readingURL()+"/disposition"),
			chromedp.WaitVisible(chromedp.CSS(row+" blockquote.comment-context")),
		)
		if got := b.text(row + " blockquote.comment-context"); got != suggestComment {
			t.Errorf("%s: the report's comment: %q; want %q", b.name, got, suggestComment)
		}
		if got := b.text(row + " > p:not([class])"); got != "Accepted: "+suggestResponse {
			t.Errorf("%s: the report says %q of the comment; want %q", b.name, got, "Accepted: "+suggestResponse)
		}
	}
	if got := sb.text("main .inset"); !strings.Contains(got, "0 of 1") {
		t.Errorf("the Secretariat's report says %q; want 0 of 1 comments left to decide", got)
	}

	// The Secretariat publishes the final output: its page and its HTML
	// export hold the merged text and the annex of what was done with
	// each comment, with the commenter named as she chose.
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/workflow", map[string]string{"stage": "revision"}, http.StatusOK, nil)
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/workflow", map[string]string{"stage": "final"}, http.StatusOK, nil)
	status, export := s.env.Call(t, "GET", "/api/documents/"+s.docID+"/export?format=html", "", "")
	named := "Amina Yusuf, Kenya ICT Action Network, civil society"
	for _, want := range []string{suggestMerged, "Annex: what was done with each comment", named, "<td>Accepted</td><td>" + suggestResponse + "</td>"} {
		if status != http.StatusOK || !strings.Contains(string(export), want) {
			t.Errorf("the final export (status %d) lacks %q", status, want)
		}
	}
	pb.must("open the final output", 30*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS("#annex-title")),
	)
	if got := pb.text("section.doc-annex"); !strings.Contains(got, named) {
		t.Errorf("the final page's contributors: %q; want %q", got, named)
	}
}
