package collab_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/sergi/go-diff/diffmatchpatch"
)

type commentJSON struct {
	ID, Parent, Name, Text, Status string
	HiddenReason                   string `json:"hidden_reason"`
	Disposition, Response          string
	Team, Mine, Proposed           bool
	Anchor                         *struct {
		Section, Para, State string
		Start, End           int
		Quote                *struct{ Exact string }
	}
	Replies []commentJSON
}

// commentSetup is a document open for comment from t0 to t0+6 weeks,
// with a paragraph written by the team.
func commentSetup(t *testing.T, cfg collab.Config) (*teamSetup, collabtest.Doc) {
	t.Helper()
	s := newTeamSetup(t, cfg)
	c := s.people[2].p.Dial(t, s.doc.ID, "writer")
	if err := c.Edit("issues", insertAt(0, "Small firms need cheap security advice.\n\nSecond paragraph.")); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConfirmed(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", map[string]any{"stage": "public-comment", "opens": t0, "closes": t0.Add(6 * 7 * 24 * time.Hour)}, 200, nil)
	var pub collabtest.Doc
	s.people[1].p.GetJSON(t, "/api/documents/"+s.doc.ID+"/published", 200, &pub)
	return s, pub
}

func quoteBody(d collabtest.Doc, word, text string) map[string]any {
	sec := d.Sections[0]
	i := strings.Index(sec.Text, word)
	return map[string]any{"section": sec.ID, "para": sec.Paras[0], "start": editor.UTF16Offset(sec.Text, i),
		"end": editor.UTF16Offset(sec.Text, i+len(word)), "version": sec.Version, "text": text}
}

// TestCommentWindow: a member of the public comments from the window's
// opening second to the second before it closes, by the server's clock;
// not a second before, not at the close.
func TestCommentWindow(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{SessionLifetime: 365 * 24 * time.Hour})
	closes := t0.Add(6 * 7 * 24 * time.Hour)
	public := s.people[1].p
	for i, tc := range []struct {
		at   time.Time
		want int
	}{
		{t0.Add(-time.Second), 403},
		{t0, 201},
		{closes.Add(-time.Second), 201},
		{closes, 403},
	} {
		s.clock.Set(tc.at)
		status, body := public.Call(t, "POST", "/api/documents/"+s.doc.ID+"/comments", "application/json",
			mustJSON(t, quoteBody(pub, "cheap", fmt.Sprintf("Comment %d.", i))))
		if status != tc.want {
			t.Errorf("at %s: %d %s; want %d", tc.at.Format(time.RFC3339), status, body, tc.want)
		}
	}
	// The team comments whatever the clock.
	s.clock.Set(closes.Add(time.Hour))
	s.people[2].p.PostJSON(t, "/api/documents/"+s.doc.ID+"/comments", map[string]string{"section": "issues", "text": "A note of the team."}, 201, nil)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommentsAPI: comment, reply, edit, withdraw, report, hide, the
// limits, and what each person sees.
func TestCommentsAPI(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	public, other, co := s.people[1].p, s.e.NewPerson(t, access.Public, ""), s.people[2].p

	// The team's open editor hears of the comment, ordered with the edits.
	heard := make(chan string, 8)
	watcher := co.Dial(t, s.doc.ID, "watcher", func(o *client.Options) {
		o.OnUpdate = func(u client.Update, own bool) {
			if strings.Contains(string(u.Structure), `"op":"comment"`) {
				heard <- string(u.Structure)
			}
		}
	})
	_ = watcher

	var c commentJSON
	public.PostJSON(t, base, quoteBody(pub, "cheap", "Cheap for whom?"), 201, &c)
	if c.Status != "open" || c.Anchor == nil || c.Anchor.Quote.Exact != "cheap" || !c.Mine || c.Name != "A participant (civil society)" {
		t.Fatalf("comment %+v", c)
	}
	select {
	case ev := <-heard:
		// That there is a new comment, and which: not its text or its
		// author (the API gives each person what they may see).
		if !strings.Contains(ev, `"kind":"add"`) || !strings.Contains(ev, c.ID) || strings.Contains(ev, "Cheap for whom?") || strings.Contains(ev, public.Account.ID) {
			t.Fatalf("the editor heard %s", ev)
		}
	case <-waitCtx(t).Done():
		t.Fatal("the open editor never heard of the comment")
	}
	// Repeating it is refused.
	if status, body := public.Call(t, "POST", base, "application/json", mustJSON(t, quoteBody(pub, "cheap", "Cheap for whom?"))); status != 409 || !strings.Contains(string(body), `"duplicate"`) {
		t.Fatalf("a repeat: %d %s", status, body)
	}
	// Bad input.
	for name, body := range map[string]map[string]any{
		"empty":             {"section": "issues", "text": "  "},
		"huge":              {"section": "issues", "text": strings.Repeat("x", 5001)},
		"unknown paragraph": {"section": "issues", "para": "p999", "text": "Where?"},
		"quote not in it":   {"section": "issues", "para": pub.Sections[0].Paras[1], "start": 0, "end": 5, "version": pub.Sections[0].Version, "text": "Where?"},
		"half a quote":      {"section": "issues", "para": pub.Sections[0].Paras[0], "start": 0, "text": "Where?"},
	} {
		if status, data := other.Call(t, "POST", base, "application/json", mustJSON(t, body)); status != 400 {
			t.Errorf("%s: %d %s; want 400", name, status, data)
		}
	}
	var r commentJSON
	co.PostJSON(t, base, map[string]string{"parent": c.ID, "text": "For firms of under ten people."}, 201, &r)
	if !r.Team || r.Parent != c.ID || r.Name != co.Account.Name {
		t.Fatalf("reply %+v", r)
	}
	// Editing: the author, not someone else.
	public.Call(t, "PATCH", base+"/"+c.ID, "application/json", `{"text":"Cheap for whom, exactly?"}`)
	if status, _ := other.Call(t, "PATCH", base+"/"+c.ID, "application/json", `{"text":"Mine now."}`); status != 403 {
		t.Fatalf("someone else edits: %d", status)
	}
	// Reports and moderation.
	if status, _ := other.Call(t, "POST", base+"/"+c.ID+"/report", "application/json", `{"reason":"Off topic."}`); status != 204 {
		t.Fatalf("report: %d", status)
	}
	if status, _ := other.Call(t, "POST", base+"/"+c.ID+"/report", "application/json", `{"reason":"Again."}`); status != 400 {
		t.Fatalf("a second report: %d", status)
	}
	if status, _ := co.Call(t, "POST", base+"/"+c.ID+"/hide", "application/json", `{"reason":"x"}`); status != 403 {
		t.Fatalf("the team hides: %d", status)
	}
	var hidden commentJSON
	s.e.PostJSON(t, base+"/"+c.ID+"/hide", map[string]string{"reason": "Breaks the Code of Conduct."}, 200, &hidden)
	var list struct{ Comments []commentJSON }
	s.e.Anonymous().GetJSON(t, base, 200, &list)
	if len(list.Comments) != 1 || list.Comments[0].Status != "hidden" || list.Comments[0].Text != "" || list.Comments[0].HiddenReason == "" || len(list.Comments[0].Replies) != 1 {
		t.Fatalf("what the public sees: %+v", list.Comments)
	}
	// Withdrawing one's own.
	var mine commentJSON
	other.PostJSON(t, base, map[string]string{"text": "On the whole document."}, 201, &mine)
	if status, _ := other.Call(t, "DELETE", base+"/"+mine.ID, "", ""); status != 204 {
		t.Fatalf("withdraw: %d", status)
	}
	// Export: every comment, as CSV and JSON.
	resp := s.e.Do(t, "GET", base+"/export?format=csv", "", "")
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) != 4 || rows[0][0] != "id" || rows[2][1] != rows[1][0] || rows[3][4] != "withdrawn" || rows[3][12] != "On the whole document." {
		t.Fatalf("CSV: %v %v", rows, err)
	}
	// The public's export leaves out what was withdrawn or hidden.
	resp = public.Do(t, "GET", base+"/export?format=csv", "", "")
	prow, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(prow) != 4 || prow[1][12] != "" || prow[3][12] != "" || prow[2][12] == "" {
		t.Fatalf("the public's CSV: %v %v", prow, err)
	}
	var exp struct{ Comments []commentJSON }
	s.e.GetJSON(t, base+"/export?format=json", 200, &exp)
	if len(exp.Comments) != 2 || len(exp.Comments[0].Replies) != 1 {
		t.Fatalf("JSON has %d threads; the CSV %d rows", len(exp.Comments), len(rows))
	}
}

// TestCommentFollowsTheTeamsEdits: the team rewrites around the quoted
// words and splits the paragraph; the comment stays on its words;
// deleting them orphans it, visibly.
func TestCommentFollowsTheTeamsEdits(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	var c commentJSON
	s.people[1].p.PostJSON(t, base, quoteBody(pub, "security advice", "Which advice?"), 201, &c)
	w := s.people[2].p.Dial(t, s.doc.ID, "editor")
	ctx := waitCtx(t)
	edit := func(f func(string) []editor.Change) {
		t.Helper()
		if err := w.Edit("issues", f); err != nil {
			t.Fatal(err)
		}
		if err := w.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	at := func(s string) func(string) int {
		return func(text string) int { return editor.UTF16Offset(text, strings.Index(text, s)) }
	}
	// "Small firms need cheap security advice." → "Many small firms …
	// need cheap\n\nsecurity advice." (a new sentence start and a split).
	edit(func(text string) []editor.Change { return []editor.Change{{From: 0, To: 5, Insert: "Many small"}} })
	edit(func(text string) []editor.Change {
		p := at("security")(text)
		return []editor.Change{{From: p - 1, To: p, Insert: "\n\n"}}
	})
	get := func() commentJSON {
		var list struct{ Comments []commentJSON }
		s.e.GetJSON(t, base, 200, &list)
		for _, x := range list.Comments {
			if x.ID == c.ID {
				return x
			}
		}
		t.Fatal("the comment is gone")
		return commentJSON{}
	}
	var live collabtest.Doc
	s.e.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &live)
	got := get()
	text := live.Sections[0].Text
	b0, _ := editor.ByteOffset(text, got.Anchor.Start)
	b1, _ := editor.ByteOffset(text, got.Anchor.End)
	if got.Status != "open" || got.Anchor.State != "anchored" || text[b0:b1] != "security advice" {
		t.Fatalf("after rewriting and splitting: %+v at %q of %q", got.Anchor, text[b0:b1], text)
	}
	edit(func(text string) []editor.Change {
		p := at("security advice")(text)
		return []editor.Change{{From: p, To: p + len("security advice."), Insert: ""}}
	})
	if got := get(); got.Status != "orphaned" || got.Anchor.Quote.Exact != "security advice" {
		t.Fatalf("after deleting the words: %+v", got)
	}
}

// TestCommentLimit: past CommentsPerHour from an account (or an
// address), 429 with Retry-After.
func TestCommentLimit(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{CommentsPerHour: 2})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	public := s.people[1].p
	for i := range 2 {
		public.PostJSON(t, base, map[string]string{"section": "issues", "text": fmt.Sprint("Comment ", i)}, 201, nil)
	}
	resp := public.Do(t, "POST", base, "application/json", `{"section":"issues","text":"One more."}`)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.clock.Advance(time.Hour)
	public.PostJSON(t, base, map[string]string{"section": "issues", "text": "An hour later."}, 201, nil)
}

// TestCommentsOnTheReadingView: comments are shown under their
// paragraph without script, with permalinks; the form to comment works
// without script too, on a paragraph or on words of it.
func TestCommentsOnTheReadingView(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	public := s.people[1].p
	para := pub.Sections[0].Paras[0]
	status, formB := public.Call(t, "GET", "/d/"+s.doc.ID+"/comment?section=issues&para="+para, "", "")
	if status != 200 || !strings.Contains(string(formB), "Small firms need cheap security advice.") {
		t.Fatalf("the comment form: %d", status)
	}
	resp, body := public.Form(t, "/d/"+s.doc.ID+"/comment", url.Values{"section": {"issues"}, "para": {para}, "quote": {"not there"}, "text": {"Hm."}})
	if resp.StatusCode != 400 || !strings.Contains(body, "not in the paragraph") {
		t.Fatalf("a quote that is not there: %d", resp.StatusCode)
	}
	resp, _ = public.Form(t, "/d/"+s.doc.ID+"/comment", url.Values{"section": {"issues"}, "para": {para}, "quote": {"cheap"}, "text": {"Cheap is relative: see https://example.org/costs."}})
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/d/"+s.doc.ID+"#comment-") {
		t.Fatalf("posting: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/d/"+s.doc.ID+"#comment-")
	status, pageB := s.e.Anonymous().Call(t, "GET", "/d/"+s.doc.ID, "", "")
	page := string(pageB)
	p1 := strings.Index(page, `data-para="`+para+`"`)
	p2 := strings.Index(page, `data-para="`+pub.Sections[0].Paras[1]+`"`)
	c := strings.Index(page, `id="comment-`+id+`"`)
	if status != 200 || p1 < 0 || c < p1 || (p2 >= 0 && c > p2) {
		t.Fatalf("the comment is not under its paragraph (%d, %d, %d)", p1, c, p2)
	}
	for _, want := range []string{`<q>cheap</q>`, `<a href="https://example.org/costs" rel="nofollow ugc noopener">`, "A participant (civil society)",
		`<a class="ccount" href="#comments-` + para + `" aria-label="1 comment on paragraph 1">1</a>`, `<aside class="comments" id="comments-` + para + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the reading view lacks %s", want)
		}
	}
	if strings.Contains(page, "/comment?") {
		t.Error("someone not signed in is offered to comment")
	}
	_, pageB = public.Call(t, "GET", "/d/"+s.doc.ID, "", "")
	if !strings.Contains(string(pageB), `/d/`+s.doc.ID+`/comment?para=`+para+`&amp;section=issues`) {
		t.Error("the public is not offered to comment on the paragraph")
	}
	// Not signed in: the form sends you to sign in first.
	resp2 := s.e.Anonymous().Do(t, "GET", "/d/"+s.doc.ID+"/comment?section=issues", "", "")
	resp2.Body.Close()
	if resp2.Request.URL.Path != "/sign-in" {
		t.Fatalf("anonymous comment form ended at %s", resp2.Request.URL)
	}
}

// TestCommentActionPages: replying, editing, withdrawing, reporting and
// hiding from the reading view, without script.
func TestCommentActionPages(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	public, other, co := s.people[1].p, s.e.NewPerson(t, access.Public, ""), s.people[2].p
	var c commentJSON
	public.PostJSON(t, "/api/documents/"+s.doc.ID+"/comments", map[string]string{"section": "issues", "text": "First thought."}, 201, &c)
	page := func(p *collabtest.Person) string {
		_, b := p.Call(t, "GET", "/d/"+s.doc.ID, "", "")
		return string(b)
	}
	link := func(action string) string { return "/d/" + s.doc.ID + "/comments/" + c.ID + "/" + action }
	// Who is offered what.
	for _, tc := range []struct {
		who        *collabtest.Person
		has, hasnt []string
	}{
		{public, []string{link("reply"), link("edit"), link("withdraw")}, []string{link("report"), link("hide")}},
		{other, []string{link("reply"), link("report")}, []string{link("edit"), link("hide")}},
		{s.e.Person, []string{link("hide"), link("report")}, []string{link("edit")}},
		{s.e.Anonymous(), nil, []string{link("reply"), link("report")}},
	} {
		got := page(tc.who)
		for _, h := range tc.has {
			if !strings.Contains(got, h) {
				t.Errorf("%v is not offered %s", tc.who.Account, h)
			}
		}
		for _, h := range tc.hasnt {
			if strings.Contains(got, h) {
				t.Errorf("%v is offered %s", tc.who.Account, h)
			}
		}
	}
	for _, step := range []struct {
		p      *collabtest.Person
		action string
		fields url.Values
		want   int
	}{
		{co, "reply", url.Values{"text": {"Thank you."}}, 303},
		{public, "edit", url.Values{"text": {"Second thought."}}, 303},
		{other, "edit", url.Values{"text": {"Not mine."}}, 403},
		{other, "report", url.Values{"reason": {""}}, 400},
		{other, "report", url.Values{"reason": {"Rude."}}, 303},
		{co, "hide", url.Values{"reason": {"Rude."}}, 403},
		{s.e.Person, "hide", url.Values{"reason": {"Rude, under the Code of Conduct."}}, 303},
	} {
		resp, body := step.p.Form(t, link(step.action), step.fields)
		if resp.StatusCode != step.want {
			t.Fatalf("%s: %d; want %d\n%s", step.action, resp.StatusCode, step.want, body)
		}
	}
	got := page(s.e.Anonymous())
	if !strings.Contains(got, "Hidden by the moderator: Rude, under the Code of Conduct.") || strings.Contains(got, "Second thought.") || !strings.Contains(got, "Thank you.") {
		t.Fatalf("after moderation the reading view shows:\n%s", got)
	}
	var log struct{ Entries []struct{ Action string } }
	s.e.GetJSON(t, "/api/audit?action=comment+hide", 200, &log)
	if len(log.Entries) != 1 {
		t.Fatalf("the hiding is not in the audit log: %+v", log)
	}
}

// TestCommentResolve: the team marks a thread dealt with and reopens it;
// the public may not; a reply is not a thread.
func TestCommentResolve(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	public, co := s.people[1].p, s.people[2].p
	var c, r commentJSON
	public.PostJSON(t, base, map[string]string{"section": "issues", "text": "Please add figures."}, 201, &c)
	co.PostJSON(t, base, map[string]string{"parent": c.ID, "text": "Added in 3.2."}, 201, &r)
	if status, _ := public.Call(t, "POST", base+"/"+c.ID+"/resolve", "application/json", "{}"); status != 403 {
		t.Fatalf("the public resolves: %d", status)
	}
	if status, _ := co.Call(t, "POST", base+"/"+r.ID+"/resolve", "application/json", "{}"); status != 400 {
		t.Fatalf("a reply resolved: %d", status)
	}
	var got commentJSON
	co.PostJSON(t, base+"/"+c.ID+"/resolve", map[string]string{}, 200, &got)
	if got.Status != "resolved" {
		t.Fatalf("resolved: %+v", got)
	}
	_, page := s.e.Anonymous().Call(t, "GET", "/d/"+s.doc.ID, "", "")
	if !strings.Contains(string(page), "The team has dealt with this comment.") {
		t.Fatal("the reading view does not say the comment was dealt with")
	}
	co.PostJSON(t, base+"/"+c.ID+"/reopen", map[string]string{}, 200, &got)
	if got.Status != "open" {
		t.Fatalf("reopened: %+v", got)
	}
}

// TestDisposition: the team proposes, the Secretariat decides what was
// done with each comment; the report names authors as they agreed, counts
// by disposition and stakeholder group, and leaves out what is only
// proposed for everyone but the team.
func TestDisposition(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	named := s.e.NewPerson(t, access.Public, "")
	named.Account.NamedInReport, named.Account.Affiliation = true, "Kenya ICT Network"
	if err := s.e.Store.UpdateAccount(context.Background(), named.Account); err != nil {
		t.Fatal(err)
	}
	anon, co := s.people[1].p, s.people[2].p
	var c1, c2 commentJSON
	named.PostJSON(t, base, map[string]string{"section": "issues", "text": "Add costs."}, 201, &c1)
	anon.PostJSON(t, base, map[string]string{"section": "issues", "text": "Shorter, please."}, 201, &c2)

	// Bad inputs.
	if status, _ := anon.Call(t, "POST", base+"/"+c1.ID+"/dispose", "application/json", `{"disposition":"accepted","response":"x"}`); status != 403 {
		t.Fatalf("the public decides: %d", status)
	}
	if status, _ := s.e.Call(t, "POST", base+"/"+c1.ID+"/dispose", "application/json", `{"disposition":"maybe","response":"x"}`); status != 400 {
		t.Fatalf("an unknown disposition: %d", status)
	}
	// The team proposes; the public does not see it yet.
	var got commentJSON
	co.PostJSON(t, base+"/"+c2.ID+"/dispose", map[string]string{"disposition": "rejected", "response": "Length follows the modalities."}, 200, &got)
	if !got.Proposed || got.Disposition != "rejected" {
		t.Fatalf("proposed: %+v", got)
	}
	var list struct{ Comments []commentJSON }
	anon.GetJSON(t, base, 200, &list)
	for _, x := range list.Comments {
		if x.Disposition != "" {
			t.Fatalf("the public sees a proposal: %+v", x)
		}
	}
	// The Secretariat decides (on the report's form), after which the
	// team cannot change it.
	resp, body := s.e.Form(t, "/d/"+s.doc.ID+"/disposition/"+c1.ID, url.Values{"disposition": {"accepted"}, "response": {"Added in 2.3."}})
	if resp.StatusCode != 303 {
		t.Fatalf("deciding: %d %s", resp.StatusCode, body)
	}
	if status, _ := co.Call(t, "POST", base+"/"+c1.ID+"/dispose", "application/json", `{"disposition":"noted","response":"x"}`); status != 403 {
		t.Fatalf("the team overrides the Secretariat: %d", status)
	}
	status, pageB := anon.Call(t, "GET", "/d/"+s.doc.ID+"/disposition", "", "")
	page := string(pageB)
	for _, want := range []string{"Person public-", ", Kenya ICT Network, civil society, Kenya", "Anonymous contributor", "<strong>Accepted</strong>: Added in 2.3.", "<td>Not decided yet</td><td>1</td>"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(page, "Length follows the modalities.") {
		t.Error("the public's report shows a proposal")
	}
	_, teamPage := co.Call(t, "GET", "/d/"+s.doc.ID+"/disposition", "", "")
	if !strings.Contains(string(teamPage), "1 of 2</strong> comments are left to decide") || !strings.Contains(string(teamPage), "Proposed: Rejected") {
		t.Error("the team's report lacks the progress or its proposal")
	}
	resp2 := anon.Do(t, "GET", "/d/"+s.doc.ID+"/disposition.csv", "", "")
	rows, err := csv.NewReader(resp2.Body).ReadAll()
	resp2.Body.Close()
	if err != nil || len(rows) != 3 || rows[1][7] != "accepted" || rows[2][7] != "" || rows[2][3] != "Anonymous contributor" {
		t.Fatalf("CSV %v, %v", rows, err)
	}
}

// TestSuggestionsOverHTTP: a member of the public suggests new wording
// for words of a paragraph; the reading view shows it as a redline; the
// Secretariat accepts it and every open editor gets the merged text as
// an edit; a second accept is refused; a conflict answers 409 with the
// text there and the merge.
func TestSuggestionsOverHTTP(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	public, co := s.people[1].p, s.people[2].p
	body := quoteBody(pub, "cheap", "Cheap sounds poor.")
	body["suggestion"] = "affordable"
	var c commentJSON
	public.PostJSON(t, base, body, 201, &c)
	var red struct {
		Comments []struct {
			Redline                     []struct{ Op, Text string }
			Original, Suggestion, Patch string
		}
	}
	s.e.Anonymous().GetJSON(t, base, 200, &red)
	if len(red.Comments) != 1 || fmt.Sprint(red.Comments[0].Redline) != "[{- cheap} {+ affordable}]" {
		t.Fatalf("the API's redline: %+v", red.Comments)
	}
	// The patch, read by go-diff, makes the suggestion of the original.
	dmp := diffmatchpatch.New()
	patches, err := dmp.PatchFromText(red.Comments[0].Patch)
	if err != nil {
		t.Fatalf("the API's patch %q: %v", red.Comments[0].Patch, err)
	}
	if got, _ := dmp.PatchApply(patches, red.Comments[0].Original); red.Comments[0].Original != "cheap" || got != "affordable" {
		t.Fatalf("the patch %q applied to %q gives %q", red.Comments[0].Patch, red.Comments[0].Original, got)
	}
	_, page := s.e.Anonymous().Call(t, "GET", "/d/"+s.doc.ID, "", "")
	if !strings.Contains(string(page), `<span class="redline"><del>cheap</del><ins>affordable</ins></span>`) {
		t.Fatal("the reading view shows no redline of the suggestion")
	}
	editor1 := co.Dial(t, s.doc.ID, "editor")
	if status, _ := co.Call(t, "POST", base+"/"+c.ID+"/accept", "application/json", `{"response":"x"}`); status != 403 {
		t.Fatalf("the team accepts: %d", status)
	}
	var acc commentJSON
	s.e.PostJSON(t, base+"/"+c.ID+"/accept", map[string]string{"response": "Merged."}, 200, &acc)
	if acc.Status != "resolved" || acc.Anchor == nil || acc.Anchor.State != "anchored" || acc.Anchor.Quote.Exact != "affordable" {
		t.Fatalf("the accepted suggestion: %+v", acc)
	}
	var live collabtest.Doc
	s.e.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &live)
	if !strings.Contains(live.Sections[0].Text, "need affordable security advice") {
		t.Fatalf("the live text: %q", live.Sections[0].Text)
	}
	if err := editor1.WaitSeq(waitCtx(t), live.Seq); err != nil || editor1.Text("issues") != live.Sections[0].Text {
		t.Fatalf("the open editor has %q (%v)", editor1.Text("issues"), err)
	}
	if status, _ := s.e.Call(t, "POST", base+"/"+c.ID+"/accept", "application/json", `{"response":"Again."}`); status != 400 {
		t.Fatalf("a second accept: %d", status)
	}
	// A conflict: the words are rewritten before the accept.
	body = quoteBody(live, "security advice", "More precise, please.")
	body["suggestion"] = "cybersecurity guidance"
	var c2 commentJSON
	public.PostJSON(t, base, body, 201, &c2)
	if err := editor1.Edit("issues", func(text string) []editor.Change {
		i := editor.UTF16Offset(text, strings.Index(text, "security advice"))
		return []editor.Change{{From: i, To: i + len("security"), Insert: "safety"}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := editor1.WaitConfirmed(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	status, data := s.e.Call(t, "POST", base+"/"+c2.ID+"/accept", "application/json", `{"response":"x"}`)
	if status != 409 || !strings.Contains(string(data), `"conflict"`) || !strings.Contains(string(data), `"current"`) {
		t.Fatalf("a conflict: %d %s", status, data)
	}
	// The accept page shows the conflict side by side.
	status, page = s.e.Call(t, "GET", "/d/"+s.doc.ID+"/comments/"+c2.ID+"/accept", "", "")
	if status != 200 || !strings.Contains(string(page), `<table class="data conflict">`) || !strings.Contains(string(page), "<del>security advice</del><ins>cybersecurity guidance</ins>") {
		t.Fatalf("the accept page of a conflict: %d\n%s", status, page)
	}
}

// TestAcceptWhileTyping: two editors type in the paragraph while the
// Secretariat accepts a suggestion on it: everyone converges, with the
// suggested words in the text exactly once.
func TestAcceptWhileTyping(t *testing.T) {
	s, pub := commentSetup(t, collab.Config{})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID + "/comments"
	body := quoteBody(pub, "cheap", "Say affordable.")
	body["suggestion"] = "affordable"
	var c commentJSON
	s.people[1].p.PostJSON(t, base, body, 201, &c)
	ctx := waitCtx(t)
	a := s.people[2].p.Dial(t, s.doc.ID, "typist-a")
	b := s.people[3].p.Dial(t, s.doc.ID, "typist-b")
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.e.PostJSON(t, base+"/"+c.ID+"/accept", map[string]string{"response": "Merged."}, 200, nil)
	}()
	for i := range 20 {
		a.Edit("issues", insertAt(0, "a"))
		b.Edit("issues", func(text string) []editor.Change {
			n := editor.UTF16Len(text)
			return []editor.Change{{From: n, To: n, Insert: fmt.Sprint(i % 10)}}
		})
	}
	<-done
	for _, c := range []*client.Client{a, b} {
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var live collabtest.Doc
	s.e.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &live)
	for _, c := range []*client.Client{a, b} {
		if err := c.WaitSeq(ctx, live.Seq); err != nil || c.Text("issues") != live.Sections[0].Text {
			t.Fatalf("a client has %q; the server %q (%v)", c.Text("issues"), live.Sections[0].Text, err)
		}
	}
	if n := strings.Count(live.Sections[0].Text, "affordable"); n != 1 || strings.Contains(live.Sections[0].Text, "cheap") {
		t.Fatalf("the suggestion is in the text %d times: %q", n, live.Sections[0].Text)
	}
}

// TestFinalOutputAnnex: the final output, on its page and in its HTML
// export, carries its contributors (the team; commenters as they agreed
// to be named) and the annex of what was done with each comment.
func TestFinalOutputAnnex(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{SessionLifetime: 365 * 24 * time.Hour})
	s.clock.Set(t0.Add(time.Hour))
	base := "/api/documents/" + s.doc.ID
	named := s.e.NewPerson(t, access.Public, "")
	named.Account.NamedInReport, named.Account.Country = true, "Chile"
	if err := s.e.Store.UpdateAccount(context.Background(), named.Account); err != nil {
		t.Fatal(err)
	}
	var c commentJSON
	named.PostJSON(t, base+"/comments", map[string]string{"section": "issues", "text": "Add costs."}, 201, &c)
	s.people[1].p.PostJSON(t, base+"/comments", map[string]string{"section": "issues", "text": "Anonymous thought."}, 201, nil)
	s.e.PostJSON(t, base+"/comments/"+c.ID+"/dispose", map[string]string{"disposition": "accepted", "response": "Added in 2.3."}, 200, nil)
	// Not before final.
	if _, page := s.e.Call(t, "GET", base+"/export?format=html", "", ""); strings.Contains(string(page), "Annex: what was done") {
		t.Fatal("the annex before the final output")
	}
	s.clock.Set(t0.Add(7 * 7 * 24 * time.Hour))
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "revision"}, 200, nil)
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "final"}, 200, nil)
	for _, path := range []string{base + "/export?format=html", "/d/" + s.doc.ID} {
		status, page := s.e.Anonymous().Call(t, "GET", path, "", "")
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, page)
		}
		for _, want := range []string{"<h2 id=\"contributors-title\">Contributors</h2>", s.people[2].p.Account.Name, named.Account.Name + ", civil society, Chile",
			"contributors who asked not to be named (1 comment)", "Annex: what was done with each comment", "<td>Accepted</td><td>Added in 2.3.</td>"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
}
