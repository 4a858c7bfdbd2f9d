package collab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// t0 is the clock of the people tests: well before the BPFs' meeting.
var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// teamSetup is a server with two BPFs, a document of the first, and one
// person of each kind.
type teamSetup struct {
	e      *collabtest.Env
	clock  *collabtest.Clock
	bpf    editor.BPF
	other  editor.BPF
	doc    collabtest.Doc
	people []namedPerson
}

type namedPerson struct {
	name string
	// role is what the person is for the document's BPF.
	role access.Role
	p    *collabtest.Person
}

func newTeamSetup(t *testing.T, cfg collab.Config) *teamSetup {
	t.Helper()
	clock := collabtest.NewClock(t0)
	e := collabtest.New(t, cfg, collabtest.Options{Now: clock.Now})
	s := &teamSetup{e: e, clock: clock}
	e.PostJSON(t, "/api/bpfs", map[string]any{"name": "BPF on Cybersecurity", "year": 2026, "meeting_date": "2026-12-01"}, 201, &s.bpf)
	e.PostJSON(t, "/api/bpfs", map[string]any{"name": "BPF on Gender", "year": 2026, "meeting_date": "2026-12-01"}, 201, &s.other)
	e.PostJSON(t, "/api/documents", map[string]string{"template": "bpf-output", "title": "Output", "bpf": s.bpf.ID}, 201, &s.doc)
	s.people = []namedPerson{
		{"anonymous", access.Anonymous, e.Anonymous()},
		{"public", access.Public, e.NewPerson(t, access.Public, "")},
		{"co-facilitator", access.CoFacilitator, e.NewPerson(t, access.CoFacilitator, s.bpf.ID)},
		{"mag-facilitator", access.MAGFacilitator, e.NewPerson(t, access.MAGFacilitator, s.bpf.ID)},
		{"another BPF's co-facilitator", access.Public, e.NewPerson(t, access.CoFacilitator, s.other.ID)},
		{"secretariat", access.Secretariat, e.Person},
	}
	return s
}

// state is what a refused request must leave as it was.
type state struct {
	seq         int64
	docs        int
	invitations int
}

func (s *teamSetup) state(t *testing.T) state {
	t.Helper()
	var d collabtest.Doc
	s.e.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &d)
	var docs struct{ Documents []json.RawMessage }
	s.e.GetJSON(t, "/api/documents", 200, &docs)
	var invs struct{ Invitations []json.RawMessage }
	s.e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", 200, &invs)
	return state{d.Seq, len(docs.Documents), len(invs.Invitations)}
}

// moveTo moves the document to stage (in order), its window open.
func (s *teamSetup) moveTo(t *testing.T, stage editor.Stage) {
	t.Helper()
	body := map[string]any{"stage": stage}
	if stage == editor.StagePublicComment {
		body["opens"], body["closes"] = t0.Add(-time.Hour), t0.Add(6*7*24*time.Hour)
	}
	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", body, 200, nil)
}

// probe tries one action as a person and reports whether it was done.
// A refusal must be 401, 403 or 404.
type probe func(t *testing.T, s *teamSetup, p *collabtest.Person, stage editor.Stage) bool

func refused(t *testing.T, what string, status int, body []byte) bool {
	t.Helper()
	if status != 401 && status != 403 && status != 404 {
		t.Errorf("%s: status %d; want a success, or 401, 403 or 404\n%s", what, status, body)
	}
	if status == 403 && !strings.Contains(string(body), `"forbidden"`) {
		t.Errorf("%s: 403 without the code forbidden: %s", what, body)
	}
	return false
}

func httpProbe(method, path string, body func(s *teamSetup, stage editor.Stage) string, ok int) probe {
	return func(t *testing.T, s *teamSetup, p *collabtest.Person, stage editor.Stage) bool {
		t.Helper()
		path := strings.NewReplacer("{doc}", s.doc.ID, "{bpf}", s.bpf.ID).Replace(path)
		b := ""
		if body != nil {
			b = body(s, stage)
		}
		status, data := p.Call(t, method, path, "application/json", b)
		if status == ok {
			return true
		}
		return refused(t, method+" "+path, status, data)
	}
}

func fixed(v string) func(*teamSetup, editor.Stage) string {
	return func(*teamSetup, editor.Stage) string { return v }
}

// editProbe edits the document's text over the websocket.
func editProbe(t *testing.T, s *teamSetup, p *collabtest.Person, stage editor.Stage) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	errs := make(chan *client.ServerError, 16)
	c, err := client.Dial(ctx, s.e.URL, s.doc.ID, client.Options{Header: p.Header(),
		OnError: func(e *client.ServerError) { errs <- e }})
	if err != nil {
		if !strings.Contains(err.Error(), "HTTP 401") && !strings.Contains(err.Error(), "HTTP 403") && !strings.Contains(err.Error(), "HTTP 404") {
			t.Errorf("dial: %v; want success, or 401, 403 or 404", err)
		}
		return false
	}
	defer c.Close()
	before := s.state(t).seq
	if err := c.Edit("issues", insertAt(0, "x")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.WaitConfirmed(ctx) }()
	// Confirmed, or refused (which also ends the wait): the server's
	// document then says which.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("edit: %v", err)
		}
	case e := <-errs:
		if e.Code != collab.CodeForbidden {
			t.Errorf("edit refused with %q (%s); want forbidden", e.Code, e.Message)
		}
	}
	return s.state(t).seq > before
}

var probes = map[access.Action]probe{
	access.ReadDraft:     httpProbe("GET", "/api/documents/{doc}", nil, 200),
	access.ReadPublished: httpProbe("GET", "/d/{doc}?version=published", nil, 200),
	access.EditText:      editProbe,
	access.EditStructure: httpProbe("POST", "/api/documents/{doc}/sections", fixed(`{"title":"Annex"}`), 201),
	access.ChangeStage: httpProbe("POST", "/api/documents/{doc}/workflow", func(s *teamSetup, stage editor.Stage) string {
		// Stay in the stage, as it is.
		body := map[string]any{"stage": stage}
		if stage == editor.StagePublicComment {
			body["opens"], body["closes"] = t0.Add(-time.Hour), t0.Add(6*7*24*time.Hour)
		}
		b, _ := json.Marshal(body)
		return string(b)
	}, 200),
	access.ManageTeam:     httpProbe("POST", "/api/bpfs/{bpf}/invitations", fixed(`{"role":"co-facilitator","note":"probe"}`), 201),
	access.CreateDocument: httpProbe("POST", "/api/documents", fixed(`{"template":"bpf-output","title":"Probe"}`), 201),
	access.ViewAudit:      httpProbe("GET", "/api/audit", nil, 200),
}

// TestPermissionMatrix tries every action that has a route or a message
// as every kind of person in every stage: done exactly when the matrix
// (access.Check, the table in docs/permissions.md) allows it, and a
// refusal changes nothing.
func TestPermissionMatrix(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	actions := make([]access.Action, 0, len(probes))
	for _, a := range access.Actions {
		if probes[a] != nil {
			actions = append(actions, a)
		}
	}
	for i, stage := range editor.Stages {
		if i > 0 {
			s.moveTo(t, stage)
		}
		c := access.Context{Stage: stage, WindowOpen: stage == editor.StagePublicComment, Published: stage != editor.StageDrafting}
		for _, np := range s.people {
			for _, a := range actions {
				t.Run(fmt.Sprintf("%s/%s/%s", stage, np.name, a), func(t *testing.T) {
					want := access.Check(np.role, a, c) == nil
					before := s.state(t)
					got := probes[a](t, s, np.p, stage)
					if got != want {
						t.Fatalf("done %v; the matrix says %v", got, want)
					}
					if !got && s.state(t) != before {
						t.Fatalf("a refused request changed the document, the documents or the invitations: %+v, then %+v", before, s.state(t))
					}
				})
			}
		}
	}
}

// TestCommentWindowEdges: the window is enforced by the server's clock,
// to the second: a member of the public may comment from its opening,
// not a second before, until its closing, not a second after; the team
// may comment whatever the clock.
func TestCommentWindowEdges(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	opens, closes := t0.Add(24*time.Hour), t0.Add(7*24*time.Hour)
	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", map[string]any{"stage": "public-comment", "opens": opens, "closes": closes}, 200, nil)
	public, team := s.people[1].p, s.people[2].p
	for _, tc := range []struct {
		at   time.Time
		open bool
	}{
		{opens.Add(-time.Second), false},
		{opens, true},
		{closes.Add(-time.Second), true},
		{closes, false},
		{closes.Add(time.Second), false},
	} {
		s.clock.Set(tc.at)
		var v struct {
			Role   string
			Window struct{ Open bool }
			Can    []access.Action
		}
		public.GetJSON(t, "/api/documents/"+s.doc.ID+"/access", 200, &v)
		if v.Window.Open != tc.open || slices.Contains(v.Can, access.Comment) != tc.open || slices.Contains(v.Can, access.Suggest) != tc.open {
			t.Errorf("at %s: public window open %v, can %v; want open %v", tc.at.Format(time.RFC3339), v.Window.Open, v.Can, tc.open)
		}
		team.GetJSON(t, "/api/documents/"+s.doc.ID+"/access", 200, &v)
		if !slices.Contains(v.Can, access.Comment) {
			t.Errorf("at %s: the team may not comment: %v", tc.at.Format(time.RFC3339), v.Can)
		}
	}
}

// TestStagesInOrder: only the Secretariat moves a document, and only to
// the next stage.
func TestStagesInOrder(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	path := "/api/documents/" + s.doc.ID + "/workflow"
	co := s.people[2].p
	status, body := co.Call(t, "POST", path, "application/json", `{"stage":"public-comment","opens":"2026-10-01T00:00:00Z","closes":"2026-11-01T00:00:00Z"}`)
	if status != 403 {
		t.Fatalf("a co-facilitator opens public comment: %d %s", status, body)
	}
	for _, skip := range []string{"revision", "final"} {
		status, body := s.e.Call(t, "POST", path, "application/json", `{"stage":"`+skip+`"}`)
		if status != 400 {
			t.Fatalf("drafting to %s: %d %s; want 400", skip, status, body)
		}
	}
	// Opening without a window takes the BPF's: six weeks before its
	// meeting, to its first day.
	var wf editor.Workflow
	s.e.PostJSON(t, path, map[string]any{"stage": "public-comment"}, 200, &wf)
	if want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); !wf.Closes.Equal(want) || !wf.Opens.Equal(want.Add(-editor.CommentWindow)) || wf.Published == 0 {
		t.Fatalf("default window %+v", wf)
	}
	status, body = s.e.Call(t, "POST", path, "application/json", `{"stage":"drafting"}`)
	if status != 400 {
		t.Fatalf("back to drafting: %d %s; want 400", status, body)
	}
	opened := wf
	s.e.PostJSON(t, path, map[string]any{"stage": "revision"}, 200, &wf)
	if !wf.Opens.Equal(opened.Opens) || !wf.Closes.Equal(opened.Closes) || wf.Published != opened.Published {
		t.Fatalf("revision %+v lost the window or the version of %+v", wf, opened)
	}
	status, body = s.e.Call(t, "POST", path, "application/json", `{"stage":"drafting"}`)
	if status != 400 || strings.Contains(string(body), "invalid: invalid") {
		t.Fatalf("back to drafting from revision: %d %s", status, body)
	}
	s.e.PostJSON(t, path, map[string]any{"stage": "final"}, 200, &wf)
	// Final is read-only and public: anyone reads it, nobody edits it.
	status, _ = s.e.Anonymous().Call(t, "GET", "/d/"+s.doc.ID, "", "")
	if status != 200 {
		t.Fatalf("the final output read anonymously: %d", status)
	}
	status, _ = s.e.Call(t, "POST", "/api/documents/"+s.doc.ID+"/sections", "application/json", `{"title":"Late annex"}`)
	if status != 403 {
		t.Fatalf("a section added to the final output: %d", status)
	}
}

func TestCSRF(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	count := func() int {
		var docs struct{ Documents []json.RawMessage }
		e.GetJSON(t, "/api/documents", 200, &docs)
		return len(docs.Documents)
	}
	before := count()
	forged := "x" + e.CSRF[1:]
	if forged == e.CSRF {
		forged = "y" + e.CSRF[1:]
	}
	for name, token := range map[string]string{"none": "", "a forged": forged} {
		req, _ := http.NewRequest("POST", e.URL+"/api/documents", strings.NewReader(`{"template":"bpf-output","title":"CSRF"}`))
		req.Header.Set("Cookie", e.Cookie)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := e.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s token: status %d; want 403", name, resp.StatusCode)
		}
	}
	// A form without its csrf field is refused too.
	req, _ := http.NewRequest("POST", e.URL+"/dashboard/bpfs", strings.NewReader("name=Forged&year=2026"))
	req.Header.Set("Cookie", e.Cookie)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("form without csrf: status %d; want 403", resp.StatusCode)
	}
	if n := count(); n != before {
		t.Fatalf("refused requests created documents: %d, then %d", before, n)
	}
	var bpfs struct{ BPFs []json.RawMessage }
	e.GetJSON(t, "/api/bpfs", 200, &bpfs)
	if len(bpfs.BPFs) != 0 {
		t.Fatalf("the forged form made a BPF")
	}
}

// cookieOf returns the session cookie a response sets ("" if none).
func cookieOf(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == collabtest.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// sessionAccount asks the server who a session cookie signs in.
func sessionAccount(t *testing.T, e *collabtest.Env, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/api/session", nil)
	req.Header.Set("Cookie", collabtest.SessionCookie+"="+cookie)
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Account *struct{ Email string }
	}
	json.NewDecoder(resp.Body).Decode(&v)
	if v.Account == nil {
		return ""
	}
	return v.Account.Email
}

// signIn posts a sign-in from a browser holding cookie (and its CSRF
// token, which a signed-in browser's requests carry); it returns the
// response and the new session's CSRF token.
func signIn(t *testing.T, e *collabtest.Env, cookie, csrf, email, password string) (*http.Response, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", e.URL+"/api/session", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", collabtest.SessionCookie+"="+cookie)
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v.CSRF
}

// TestSessionFixation: a session id planted in a browser before it signs
// in never becomes a signed-in session: signing in makes a new one, and
// the one the browser had before is ended.
func TestSessionFixation(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	p := e.NewPerson(t, access.Public, "")
	planted := "planted-by-an-attacker"
	resp, csrf := signIn(t, e, planted, "", p.Account.Email, p.Password)
	got := cookieOf(resp)
	if resp.StatusCode != 200 || got == "" || got == planted {
		t.Fatalf("sign-in with a planted cookie: %d, cookie %q", resp.StatusCode, got)
	}
	if who := sessionAccount(t, e, planted); who != "" {
		t.Fatalf("the planted id signs in %s", who)
	}
	if who := sessionAccount(t, e, got); who != p.Account.Email {
		t.Fatalf("the new session signs in %q", who)
	}
	// Signing in again from the same browser ends the session it had.
	resp2, _ := signIn(t, e, got, csrf, p.Account.Email, p.Password)
	again := cookieOf(resp2)
	if again == got || sessionAccount(t, e, got) != "" || sessionAccount(t, e, again) != p.Account.Email {
		t.Fatalf("a second sign-in kept the first session: %q %q, first signs in %q, second %q", got, again, sessionAccount(t, e, got), sessionAccount(t, e, again))
	}
	if c := resp.Cookies()[0]; !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Fatalf("cookie flags %+v; want HttpOnly, SameSite=Lax, Secure only behind TLS", c)
	}
}

// TestSecureCookieBehindTLS: behind a proxy that says the request came
// over TLS, the cookie is Secure.
func TestSecureCookieBehindTLS(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	p := e.NewPerson(t, access.Public, "")
	req, _ := http.NewRequest("POST", e.URL+"/api/session", strings.NewReader(`{"email":"`+p.Account.Email+`","password":"`+p.Password+`"}`))
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); len(c) == 0 || !c[0].Secure {
		t.Fatalf("cookies %+v; want a Secure one", c)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	p := e.NewPerson(t, access.Public, "")
	first := strings.TrimPrefix(p.Cookie, collabtest.SessionCookie+"=")
	resp, _ := signIn(t, e, "", "", p.Account.Email, p.Password)
	second := cookieOf(resp)
	var out struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	p.PostJSON(t, "/api/session/everywhere", nil, 200, &out)
	if out.SessionsEnded != 2 || sessionAccount(t, e, first) != "" || sessionAccount(t, e, second) != "" {
		t.Fatalf("sign-out everywhere ended %d; sessions left: %q %q", out.SessionsEnded, sessionAccount(t, e, first), sessionAccount(t, e, second))
	}
}

// TestSignInRateLimit: after SignInsPerMinute attempts from an address or
// for an email, the next is refused with 429 and Retry-After, even with
// the right password, until the minute is over.
func TestSignInRateLimit(t *testing.T) {
	clock := collabtest.NewClock(t0)
	e := collabtest.New(t, collab.Config{SignInsPerMinute: 3}, collabtest.Options{Now: clock.Now})
	// The Env's own sign-in counted one for the address.
	for i := range 2 {
		if resp, _ := signIn(t, e, "", "", "nobody@example.org", "wrong password"); resp.StatusCode != 401 {
			t.Fatalf("attempt %d: %d; want 401", i, resp.StatusCode)
		}
	}
	resp, _ := signIn(t, e, "", "", e.Account.Email, e.Password)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("over the limit: %d, Retry-After %q; want 429, 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clock.Advance(time.Minute)
	if resp, _ := signIn(t, e, "", "", e.Account.Email, e.Password); resp.StatusCode != 200 {
		t.Fatalf("a minute later: %d; want 200", resp.StatusCode)
	}
}
