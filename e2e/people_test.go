package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestSecretariatInvitesATeam: the Secretariat signs in through the
// sign-in page, creates a BPF and a document of it from the dashboard,
// and invites a co-facilitator from the BPF's team page; in a browser of
// their own, the co-facilitator opens the invitation link, makes an
// account through the join form, lands signed in, opens the document's
// editor from the home page and writes text that reaches the server.
func TestSecretariatInvitesATeam(t *testing.T) {
	env := collabtest.New(t, collab.Config{})
	sec := env.NewPerson(t, access.Secretariat, "")
	sb := newBrowser(t, "the Secretariat")

	header := sb.signInPage(env.URL, sec.Account.Email, sec.Password, "/dashboard")
	if want := "Signed in as " + sec.Account.Name; !strings.Contains(header, want) {
		t.Errorf("site header after signing in: got %q; want %q", header, want)
	}
	if loc := sb.location(); !strings.HasSuffix(loc, "/dashboard") {
		t.Fatalf("after signing in: at %s; want the dashboard (the sign-in form's next)", loc)
	}

	// A BPF, from the dashboard.
	meeting := time.Now().UTC().AddDate(0, 0, 60)
	sb.must("fill in the form of a new BPF", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#bpf-name"), "BPF Cybersecurity"),
		chromedp.SendKeys(chromedp.CSS("#bpf-year"), strconv.Itoa(meeting.Year())),
		chromedp.SendKeys(chromedp.CSS("#bpf-meeting"), meeting.Format(time.DateOnly)),
	)
	sb.submit("create the BPF", `form[action="/dashboard/bpfs"]`, `.panel[role=status] a[href^="/bpfs/"]`)
	if got := sb.text(".panel[role=status]"); !strings.Contains(got, "BPF Cybersecurity was created") {
		t.Errorf("status after creating the BPF: got %q; want it to say the BPF was created", got)
	}
	bpfID := strings.TrimPrefix(sb.attr(`.panel[role=status] a`, "href"), "/bpfs/")

	// A document of the BPF, from the dashboard.
	const title = "Cybersecurity for small enterprises: output"
	sb.must("fill in the form of a new document", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#doc-title"), title),
		chromedp.SetValue(chromedp.CSS("#doc-bpf"), bpfID),
	)
	if tmpl, err := run(sb, chromedp.Value(chromedp.CSS("#doc-template"))); err != nil || tmpl != "bpf-output" {
		t.Errorf("template chosen for the new document: %q (%v); want bpf-output", tmpl, err)
	}
	sb.submit("create the document", `form[action="/dashboard/documents"]`, `.panel[role=status] a[href^="/edit/"]`)
	docID := strings.TrimPrefix(sb.attr(`.panel[role=status] a`, "href"), "/edit/")
	if got := sb.text(fmt.Sprintf(`table.data a[href="/d/%s"]`, docID)); got != title {
		t.Errorf("the dashboard lists the new document as %q; want %q", got, title)
	}
	var doc collabtest.Doc
	env.GetJSON(t, "/api/documents/"+docID, http.StatusOK, &doc)
	if doc.BPF != bpfID || doc.Template != "bpf-output" || doc.Title != title {
		t.Errorf("the new document: BPF %q, template %q, title %q; want %q, bpf-output, %q", doc.BPF, doc.Template, doc.Title, bpfID, title)
	}

	// The team page: an invitation for a co-facilitator.
	sb.follow("open the BPF's team page", fmt.Sprintf(`a[href="/bpfs/%s"]`, bpfID), "#note")
	sb.must("fill in the invitation", 10*time.Second,
		chromedp.Click(chromedp.CSS(`input[name=role][value="co-facilitator"]`)),
		chromedp.SendKeys(chromedp.CSS("#note"), "Chen Wei"),
	)
	sb.submit("make an invitation link", fmt.Sprintf(`form[action="/bpfs/%s/invitations"]`, bpfID), "#invitation-link")
	link := strings.TrimSpace(sb.text("#invitation-link"))
	if !strings.HasPrefix(link, env.URL+"/join/") {
		t.Fatalf("invitation link: got %q; want %s/join/…", link, env.URL)
	}

	// Chen, in a browser of their own, not signed in.
	cb := sb.newContext("Chen Wei")
	cb.must("open the invitation link", 20*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#name")),
	)
	if got := cb.text("main"); !strings.Contains(got, "Join the team of BPF Cybersecurity") || !strings.Contains(got, "co-facilitator") {
		t.Errorf("join page: got %q; want it to name the BPF and the role", got)
	}
	cb.must("fill in the join form", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#name"), "Chen Wei"),
		chromedp.SendKeys(chromedp.CSS("#email"), "chen.wei@example.org"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a passphrase of Chen's"),
	)
	cb.submit("create the account and join", `main form[action^="/join/"]`, `.site-account form[action="/sign-out"]`)
	if got := cb.text(".site-account"); !strings.Contains(got, "Signed in as Chen Wei") {
		t.Errorf("site header after joining: got %q; want Chen signed in", got)
	}

	// Chen's home page lists the draft to work on; its editor is Chen's.
	s := serverOf(t, env, docID)
	cb.follow("open the editor from the home page", fmt.Sprintf(`a[href="/edit/%s"]`, docID), fmt.Sprintf(`body[data-doc=%q]`, docID))
	cb.joinEditor(s)
	const typed = "Chen drafts the overview of the issue."
	if err := cb.typeAt(s.sections[0], true, typed); err != nil {
		t.Fatal(err)
	}
	texts := converged(t, s, 20*time.Second, cb)
	if texts[s.sections[0]] != typed {
		t.Errorf("server text of %s: got %q; want %q", s.sections[0], texts[s.sections[0]], typed)
	}

	// The Secretariat sees Chen in the team, and the invitation used.
	sb.must("reload the team page", 20*time.Second,
		chromedp.Navigate(env.URL+"/bpfs/"+bpfID),
		chromedp.WaitVisible(chromedp.CSS("#note")),
	)
	page := sb.text("main")
	for _, want := range []string{"Chen Wei\tchen.wei@example.org\tco-facilitator", "accepted"} {
		if !strings.Contains(page, want) {
			t.Errorf("team page: got %q; want it to contain %q", page, want)
		}
	}
}

// TestPublicCommentReader: a member of the public registers through the
// registration page, reads the draft the Secretariat opened for public
// comment, with its comment window, and cannot edit it: the editing view
// is not theirs while the draft is not public, and once the Secretariat
// lets everyone read the live draft, what they type does not reach the
// server.
func TestPublicCommentReader(t *testing.T) {
	env := collabtest.New(t, collab.Config{})
	pb := newBrowser(t, "Amina Yusuf")
	meeting := time.Now().UTC().AddDate(0, 0, 20).Truncate(24 * time.Hour)
	var bpf struct {
		ID string `json:"id"`
	}
	env.PostJSON(t, "/api/bpfs", map[string]any{"name": "BPF Cybersecurity", "year": meeting.Year(), "meeting_date": meeting.Format(time.DateOnly)}, http.StatusCreated, &bpf)
	var d collabtest.Doc
	env.PostJSON(t, "/api/documents", map[string]string{"template": "bpf-output", "title": "Cybersecurity output for comment", "bpf": bpf.ID}, http.StatusCreated, &d)
	s := serverOf(t, env, d.ID)
	s.bpf = bpf.ID

	// The Secretariat writes the draft's first paragraph over the
	// websocket, then opens the document for public comment around the
	// server's clock (the server runs on time.Now), until the meeting.
	const para = "Small enterprises in developing economies face ransomware without any security staff."
	c := env.Dial(t, d.ID, "secretariat")
	if err := c.Edit(s.sections[0], func(text string) []editor.Change { return []editor.Change{{From: 0, To: 0, Insert: para}} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	opens, closes := time.Now().UTC().Add(-time.Hour), meeting
	workflow := func(publicDraft bool) {
		t.Helper()
		var wf editor.Workflow
		env.PostJSON(t, "/api/documents/"+d.ID+"/workflow", map[string]any{"stage": "public-comment", "opens": opens, "closes": closes, "public_draft": publicDraft}, http.StatusOK, &wf)
		if wf.StageOf() != editor.StagePublicComment || !wf.WindowOpen(time.Now()) || wf.PublicDraft != publicDraft {
			t.Fatalf("workflow after opening public comment: %+v; want public comment, the window open now, public draft %v", wf, publicDraft)
		}
	}
	workflow(false)

	// Registration, with every field, and back to the document.
	pb.must("fill in the registration form", 20*time.Second,
		chromedp.Navigate(env.URL+"/register?next=/d/"+d.ID),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Amina Yusuf"),
		chromedp.SendKeys(chromedp.CSS("#email"), "amina.yusuf@example.org"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a passphrase of Amina's"),
		chromedp.SendKeys(chromedp.CSS("#affiliation"), "Lagos Business School"),
		chromedp.Click(chromedp.CSS(`input[name=stakeholder_group][value="academia"]`)),
		chromedp.SendKeys(chromedp.CSS("#country"), "Nigeria"),
		chromedp.Click(chromedp.CSS("#named_in_report")),
		chromedp.Click(chromedp.CSS("#accept_code_of_conduct")),
	)
	pb.submit("register", `main form[action="/register"]`, `.site-account form[action="/sign-out"]`)
	if got := pb.text(".site-account"); !strings.Contains(got, "Signed in as Amina Yusuf") {
		t.Errorf("site header after registering: got %q; want Amina signed in", got)
	}
	if loc := pb.location(); !strings.HasSuffix(loc, "/d/"+d.ID) {
		t.Errorf("after registering: at %s; want the document (the form's next)", loc)
	}
	// The account holds what the form said (the page's session, as the
	// server sees it).
	type account struct {
		Name             string    `json:"name"`
		Email            string    `json:"email"`
		Affiliation      string    `json:"affiliation"`
		StakeholderGroup string    `json:"stakeholder_group"`
		Country          string    `json:"country"`
		NamedInReport    bool      `json:"named_in_report"`
		ConductAccepted  time.Time `json:"conduct_accepted"`
		Secretariat      bool      `json:"secretariat"`
		Teams            []any     `json:"teams"`
	}
	who, err := run(pb, chromedp.Evaluate[struct {
		Account *account `json:"account"`
	}](`fetch("/api/session").then(r => r.json())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if a := who.Account; a == nil || a.Name != "Amina Yusuf" || a.Email != "amina.yusuf@example.org" || a.Affiliation != "Lagos Business School" ||
		a.StakeholderGroup != "academia" || a.Country != "Nigeria" || !a.NamedInReport || a.ConductAccepted.IsZero() || a.Secretariat || len(a.Teams) != 0 {
		t.Errorf("the registered account: %+v; want what the form said, the Code of Conduct accepted, of no team", a)
	}

	// The reading view: the published draft, open for comment until the
	// meeting.
	pb.must("read the document", 10*time.Second, chromedp.WaitVisible(chromedp.CSS("nav.toc")))
	if got := pb.text("main"); !strings.Contains(got, para) {
		t.Errorf("reading view: got %q; want the published text %q", got, para)
	}
	if got := pb.text(".doc-status"); got != "Draft for public comment" {
		t.Errorf("status on the title page: got %q; want %q", got, "Draft for public comment")
	}
	phase := pb.text(".doc-phase")
	if !strings.Contains(strings.ToLower(phase), "open for public comment") || !strings.Contains(phase, closes.Format("2 January 2006")) {
		t.Errorf("phase on the reading view: got %q; want it open for public comment until %s", phase, closes.Format("2 January 2006"))
	}
	// The window, as the Secretariat set it, in UTC to the second.
	window, err := eval[[]string](pb, `[...document.querySelectorAll(".doc-window time")].map(e => e.getAttribute("datetime"))`)
	if want := []string{opens.Format("2006-01-02T15:04:05Z"), closes.Format("2006-01-02T15:04:05Z")}; err != nil || !slices.Equal(window, want) {
		t.Errorf("comment window on the reading view: got %q (%v); want %q", window, err, want)
	}
	pb.screenshot("reading-view-public-comment")

	// The editing view is not the public's: the live draft is the team's.
	// The document is published, so the editing view leads them to what
	// they may read: the reading view of the published version.
	resp, err := run(pb, chromedp.NavigateResponse(s.editURL()))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/d/"+s.docID) {
		t.Errorf("editing view of a draft that is not public: status %d at %s; want the reading view", resp.Status, resp.URL)
	}
	if n, err := eval[int](pb, `document.querySelectorAll(".cm-content").length`); err != nil || n != 0 {
		t.Errorf("editing view of a draft that is not public: %d editors (%v); want none", n, err)
	}
	t.Logf("editing view of a draft that is not public: %d, %q", resp.Status, pb.text("h1"))

	// Once everyone may read the live draft, the editing view opens, and
	// what the public types does not reach the server.
	workflow(true)
	pb.openEditor(s)
	cannotEdit(t, s, pb)
}

// cannotEdit checks that b, in the editing view of s's document, cannot
// change its text: either the editor is read-only, or what b types is
// refused by the server and the page says so. Whatever the page does, the
// server refuses an edit pushed on the websocket with b's own session.
// The server's text stays as it was.
func cannotEdit(t *testing.T, s *server, b *browser) {
	t.Helper()
	texts := func() map[string]string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := s.texts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := texts()
	section := s.sections[0]
	editable, err := eval[bool](b, fmt.Sprintf(`document.querySelector(%q).contentEditable === "true"`, editorSel(section)))
	if err != nil {
		t.Fatal(err)
	}
	const typed = " Rewritten by someone who may not."
	if editable {
		// The server refuses the push, and the page says so.
		if err := b.typeAt(section, true, typed); err != nil {
			t.Fatal(err)
		}
		note := fmt.Sprintf(`[data-section=%q] .section-note`, section)
		eventually(t, 20*time.Second, "the page says the change was not saved", func() string {
			got, err := eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && !e.hidden ? e.innerText : "" })()`, note))
			if err != nil {
				return err.Error()
			}
			if !strings.Contains(got, "could not be saved") {
				return fmt.Sprintf("section note %q", got)
			}
			return ""
		})
	} else {
		// A person clicks into the text and types: nothing changes, and
		// nothing waits to be sent.
		t.Logf("%s: the editor of %s is read-only", b.name, section)
		b.must("click into the read-only text and type", 20*time.Second,
			chromedp.Click(chromedp.CSS(editorSel(section))),
			chromedp.KeyEvent(typed),
		)
		got, err := b.session()
		if err != nil {
			t.Fatal(err)
		}
		if got.Pending != 0 || got.Texts[section] != before[section] {
			t.Errorf("%s: after typing into the read-only editor: %d pending, text %q; want none pending and the server's %q", b.name, got.Pending, got.Texts[section], before[section])
		}
	}

	// The browser's session on the websocket, without the page: a push
	// is refused (or the connection is).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.env.URL, s.docID, client.Options{Key: "e2e-push-without-the-page", Name: b.name, Header: b.sessionHeader()})
	if err != nil {
		t.Logf("%s: the websocket refuses the session: %v", b.name, err)
	} else {
		defer c.Close()
		if err := c.Edit(section, func(string) []editor.Change { return []editor.Change{{Insert: typed}} }); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitFor(ctx, func(c *client.Client) bool { return c.Err() != nil }); err != nil && c.Err() == nil {
			t.Fatalf("%s: a push on the websocket: %v; want it refused", b.name, err)
		}
		var refusal *client.ServerError
		if !errors.As(c.Err(), &refusal) || refusal.Code != "forbidden" {
			t.Errorf("%s: a push on the websocket: %v; want it refused as forbidden", b.name, c.Err())
		}
	}

	after := texts()
	for _, id := range s.sections {
		if after[id] != before[id] {
			t.Errorf("section %s: the server's text changed from %q to %q; want it unchanged", id, before[id], after[id])
		}
	}
}

// sessionHeader returns the header that carries b's session cookie, read
// through DevTools (it is HttpOnly), for requests made outside the page.
func (b *browser) sessionHeader() http.Header {
	b.t.Helper()
	var cookie string
	page := b.location()
	b.must("read the session cookie", 10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{page}})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == collabtest.SessionCookie {
				cookie = c.Name + "=" + c.Value
			}
		}
		return nil
	}))
	if cookie == "" {
		b.t.Fatalf("%s: the browser has no session cookie", b.name)
	}
	return http.Header{"Cookie": {cookie}}
}

// TestDemo: on a server with the demo, its Secretariat signs in with the
// password the demo printed and finds the demo document on the dashboard;
// its member of the public signs in and finds the document's editing view
// is not theirs.
func TestDemo(t *testing.T) {
	env := collabtest.New(t, collab.Config{})
	sb := newBrowser(t, "the demo's Secretariat")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accounts, err := env.Server.Demo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	demo := map[access.Role]collab.DemoAccount{}
	for _, a := range accounts {
		demo[a.Role] = a
	}
	nameOf := func(a collab.DemoAccount) string {
		t.Helper()
		acct, err := env.Store.AccountByEmail(context.Background(), a.Email)
		if err != nil {
			t.Fatalf("demo account %s: %v", a.Email, err)
		}
		return acct.Name
	}
	docID := strings.TrimPrefix(collab.DemoDocument, "/edit/")
	var doc collabtest.Doc
	env.GetJSON(t, "/api/documents/"+docID, http.StatusOK, &doc)

	sec, ok := demo[access.Secretariat]
	if !ok {
		t.Fatalf("the demo made no Secretariat account: %+v", accounts)
	}
	header := sb.signInPage(env.URL, sec.Email, sec.Password, "/dashboard")
	if want := "Signed in as " + nameOf(sec); !strings.Contains(header, want) {
		t.Errorf("site header: got %q; want %q", header, want)
	}
	if got := sb.text(fmt.Sprintf(`table.data a[href="/d/%s"]`, docID)); got != doc.Title {
		t.Errorf("the dashboard lists the demo document as %q; want %q", got, doc.Title)
	}

	pub, ok := demo[access.Public]
	if !ok {
		t.Fatalf("the demo made no account of the public: %+v", accounts)
	}
	pb := sb.newContext("the demo's public")
	header = pb.signInPage(env.URL, pub.Email, pub.Password, "/")
	if want := "Signed in as " + nameOf(pub); !strings.Contains(header, want) {
		t.Errorf("site header: got %q; want %q", header, want)
	}
	resp, err := run(pb, chromedp.NavigateResponse(env.URL+collab.DemoDocument))
	if err != nil {
		t.Fatal(err)
	}
	switch resp.Status {
	case http.StatusNotFound:
		if got := pb.text("h1"); got != "Page not found" {
			t.Errorf("%s for the public: heading %q; want %q", collab.DemoDocument, got, "Page not found")
		}
		if n, err := eval[int](pb, `document.querySelectorAll(".cm-content").length`); err != nil || n != 0 {
			t.Errorf("%s for the public: %d editors (%v); want none", collab.DemoDocument, n, err)
		}
	case http.StatusOK:
		// A demo whose draft the public may read: read-only for them.
		s := serverOf(t, env, docID)
		pb.joinEditor(s)
		cannotEdit(t, s, pb)
	default:
		t.Errorf("%s for the public: status %d; want 404 (or the editor, read-only)", collab.DemoDocument, resp.Status)
	}
}
