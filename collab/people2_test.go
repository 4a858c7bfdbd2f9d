package collab_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

var linkPattern = regexp.MustCompile(`/join/([A-Za-z0-9_-]+)`)

// TestInvitations: a link works once, for the role it says; a used,
// withdrawn or expired one is refused and changes nothing.
func TestInvitations(t *testing.T) {
	s := newTeamSetup(t, collab.Config{InvitationLifetime: 48 * time.Hour})
	e := s.e
	invite := func(note string) string {
		var v struct{ Link, State string }
		e.PostJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", map[string]string{"role": "co-facilitator", "note": note}, 201, &v)
		if v.State != "open" || !linkPattern.MatchString(v.Link) {
			t.Fatalf("invitation %+v", v)
		}
		return linkPattern.FindString(v.Link)
	}
	link := invite("Ana")
	// Nobody's listing shows the link again.
	status, list := e.Call(t, "GET", "/api/bpfs/"+s.bpf.ID+"/invitations", "", "")
	if status != 200 || strings.Contains(string(list), strings.TrimPrefix(link, "/join/")) {
		t.Fatalf("the listing shows the token: %s", list)
	}

	anon := e.Anonymous()
	resp, body := anon.Form(t, link, url.Values{"name": {"Ana"}, "email": {"ana@example.org"}, "password": {"a long password"}})
	if resp.StatusCode != 303 || cookieOf(resp) == "" {
		t.Fatalf("joining: %d %s", resp.StatusCode, body)
	}
	ana := &collabtest.Person{}
	*ana = *anon
	ana.Cookie = collabtest.SessionCookie + "=" + cookieOf(resp)
	var d collabtest.Doc
	ana.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &d) // she is of the team

	// Used: refused, nothing made.
	resp, body = e.Anonymous().Form(t, link, url.Values{"name": {"Eve"}, "email": {"eve@example.org"}, "password": {"a long password"}})
	if resp.StatusCode != 410 || !strings.Contains(body, "used already") {
		t.Fatalf("a used link: %d %s", resp.StatusCode, body)
	}
	if sessionAccount(t, e, cookieOf(resp)) != "" {
		t.Fatal("a used link signed someone in")
	}
	var members struct{ Members []struct{ Email string } }
	e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/members", 200, &members)
	for _, m := range members.Members {
		if m.Email == "eve@example.org" {
			t.Fatal("a used link made a member")
		}
	}

	// Withdrawn.
	withdrawn := invite("Bo")
	var invs struct {
		Invitations []struct{ ID, Note, State string }
	}
	e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", 200, &invs)
	for _, inv := range invs.Invitations {
		if inv.Note == "Bo" {
			if status, _ := e.Call(t, "DELETE", "/api/bpfs/"+s.bpf.ID+"/invitations/"+inv.ID, "", ""); status != 204 {
				t.Fatalf("withdraw: %d", status)
			}
		}
	}
	if resp, body := e.Anonymous().Form(t, withdrawn, url.Values{"name": {"Bo"}, "email": {"bo@example.org"}, "password": {"a long password"}}); resp.StatusCode != 410 {
		t.Fatalf("a withdrawn link: %d %s", resp.StatusCode, body)
	}

	// Expired: the clock decides.
	late := invite("Cy")
	s.clock.Advance(48 * time.Hour)
	if status, _ := e.Anonymous().Call(t, "GET", late, "", ""); status != 200 {
		t.Fatalf("a link at its expiry instant: %d; want still open", status)
	}
	s.clock.Advance(time.Second)
	if status, body := e.Anonymous().Call(t, "GET", late, "", ""); status != 410 || !strings.Contains(string(body), "expired") {
		t.Fatalf("an expired link: %d %s", status, body)
	}
	if resp, _ := e.Anonymous().Form(t, late, url.Values{"name": {"Cy"}, "email": {"cy@example.org"}, "password": {"a long password"}}); resp.StatusCode != 410 {
		t.Fatalf("an expired link taken: %d", resp.StatusCode)
	}
	e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", 200, &invs)
	states := map[string]string{}
	for _, inv := range invs.Invitations {
		states[inv.Note] = inv.State
	}
	if states["Ana"] != "accepted" || states["Bo"] != "revoked" || states["Cy"] != "expired" {
		t.Fatalf("states %v", states)
	}
	// Only the Secretariat invites.
	if status, _ := s.people[3].p.Call(t, "POST", "/api/bpfs/"+s.bpf.ID+"/invitations", "application/json", `{"role":"co-facilitator"}`); status != 403 {
		t.Fatalf("a MAG facilitator invites: %d", status)
	}
}

// TestConcurrentJoin: of several people opening one link at once,
// exactly one joins.
func TestConcurrentJoin(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	var v struct{ Link string }
	s.e.PostJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", map[string]string{"role": "mag-facilitator"}, 201, &v)
	link := linkPattern.FindString(v.Link)
	people := []*collabtest.Person{s.e.NewPerson(t, access.Public, ""), s.e.NewPerson(t, access.Public, ""), s.e.NewPerson(t, access.Public, ""), s.e.NewPerson(t, access.Public, "")}
	codes := make([]int, len(people))
	var wg sync.WaitGroup
	for i, p := range people {
		wg.Go(func() {
			resp, _ := p.Form(t, link, url.Values{})
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	joined := 0
	for _, c := range codes {
		switch c {
		case 303:
			joined++
		case 410:
		default:
			t.Fatalf("statuses %v", codes)
		}
	}
	var members struct{ Members []json.RawMessage }
	s.e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/members", 200, &members)
	// Two members were there already (the team of newTeamSetup).
	if joined != 1 || len(members.Members) != 3 {
		t.Fatalf("%d joined, %d members; want 1 and 3", joined, len(members.Members))
	}
}

// TestPasswordsNeverShown: no answer and no log line holds a password or
// its hash.
func TestPasswordsNeverShown(t *testing.T) {
	var log bytes.Buffer
	var mu sync.Mutex
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Log: lockedWriter{&mu, &log}})
	const password = "correct horse battery staple"
	var answers []string
	record := func(status int, body []byte) { answers = append(answers, string(body)) }
	record(e.Anonymous().Call(t, "POST", "/api/accounts", "application/json", `{"email":"pat@example.org","password":"`+password+`","name":"Pat","stakeholder_group":"academia","country":"Chile","accept_code_of_conduct":true}`))
	record(e.Anonymous().Call(t, "POST", "/api/session", "application/json", `{"email":"pat@example.org","password":"`+password+`"}`))
	record(e.Anonymous().Call(t, "POST", "/api/session", "application/json", `{"email":"pat@example.org","password":"`+password+`x"}`))
	record(e.Anonymous().Call(t, "POST", "/api/accounts", "application/json", `{"email":"pat@example.org","password":"`+password+`","name":"Pat","stakeholder_group":"academia","country":"Chile","accept_code_of_conduct":true}`))
	resp, body := e.Anonymous().Form(t, "/sign-in", url.Values{"email": {"pat@example.org"}, "password": {password + "y"}})
	record(resp.StatusCode, []byte(body))
	record(e.Call(t, "GET", "/api/session", "", ""))
	record(e.Call(t, "GET", "/api/audit", "", ""))
	record(e.Call(t, "GET", "/audit.csv", "", ""))
	if !strings.Contains(answers[0], `"pat@example.org"`) || !strings.Contains(answers[2], "not right") {
		t.Fatalf("unexpected answers: %q", answers[:3])
	}
	mu.Lock()
	defer mu.Unlock()
	for i, a := range append(answers, log.String()) {
		if strings.Contains(a, password) || strings.Contains(a, "$2a$") || strings.Contains(a, "password_hash") {
			t.Fatalf("answer %d holds a password or a hash:\n%s", i, a)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestHostChecked: a request for a host the site is not (a DNS-rebinding
// page's) is refused; without configured origins only IP addresses and
// localhost are hosts.
func TestHostChecked(t *testing.T) {
	for _, tc := range []struct {
		origins []string
		host    string
		ok      bool
	}{
		{nil, "127.0.0.1:8080", true},
		{nil, "localhost:8080", true},
		{nil, "[::1]:8080", true},
		{nil, "rebind.evil.example", false},
		{[]string{"https://bpf.example.org"}, "bpf.example.org", true},
		{[]string{"https://bpf.example.org"}, "127.0.0.1:8080", false},
		{[]string{"https://bpf.example.org"}, "bpf.example.org.evil.example", false},
	} {
		e := collabtest.New(t, collab.Config{PublicOrigins: tc.origins}, collabtest.Options{NoSecretariat: true})
		req, _ := http.NewRequest("GET", e.URL+"/api/documents", nil)
		req.Host = tc.host
		resp, err := e.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ok := resp.StatusCode == 200; ok != tc.ok {
			t.Errorf("origins %v, Host %s: status %d; want ok %v", tc.origins, tc.host, resp.StatusCode, tc.ok)
		}
	}
}

// TestImagesOnlyFromListedSources: by default images come from this site
// only; the sources the Secretariat lists are added, nothing else.
func TestImagesOnlyFromListedSources(t *testing.T) {
	for _, tc := range []struct {
		sources []string
		want    string
	}{
		{nil, "img-src 'self' data:;"},
		{[]string{"https://www.intgovforum.org", "https://x; script-src *"}, "img-src 'self' data: https://www.intgovforum.org;"},
	} {
		e := collabtest.New(t, collab.Config{ImageSources: tc.sources})
		resp := e.Do(t, "GET", "/", "", "")
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tc.want) || strings.Count(csp, "script-src") != 1 {
			t.Errorf("sources %v: CSP %q; want %q", tc.sources, csp, tc.want)
		}
	}
}

// TestSocketCaps: an account may hold SocketsPerAccount websockets at
// once; one more is refused with 429 before the upgrade, and a closed one
// frees its place.
func TestSocketCaps(t *testing.T) {
	e := collabtest.New(t, collab.Config{SocketsPerAccount: 2})
	d := e.CreateDoc(t, "bpf-output", "Caps")
	ctx := waitCtx(t)
	dial := func() (*client.Client, error) {
		return client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header()})
	}
	a, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	b, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c, err := dial(); err == nil || !strings.Contains(err.Error(), "429") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a third websocket: %v; want 429", err)
	}
	a.Close()
	// The place is given back when the server sees the close; wait for it
	// (bounded).
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := dial()
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed websocket's place was never given back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEditRateLimit: past EditsPerMinute pushes, the connection is told
// rate_limited and closed; the next minute it may edit again.
func TestEditRateLimit(t *testing.T) {
	clock := collabtest.NewClock(t0)
	e := collabtest.New(t, collab.Config{EditsPerMinute: 3}, collabtest.Options{Now: clock.Now})
	d := e.CreateDoc(t, "bpf-output", "Rate")
	ctx := waitCtx(t)
	errs := make(chan *client.ServerError, 8)
	c, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), OnError: func(se *client.ServerError) { errs <- se }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		if err := c.Edit("issues", insertAt(0, "a")); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	if err := c.Edit("issues", insertAt(0, "b")); err != nil {
		t.Fatal(err)
	}
	select {
	case se := <-errs:
		if se.Code != collab.CodeRateLimited {
			t.Fatalf("error %+v; want rate_limited", se)
		}
	case <-ctx.Done():
		t.Fatal("the fourth edit in a minute was not refused")
	}
	var doc collabtest.Doc
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &doc)
	if doc.Sections[0].Text != "aaa" && !strings.HasPrefix(doc.Sections[0].Text, "aaa") {
		t.Fatalf("text %q", doc.Sections[0].Text)
	}
	// The next minute, the same person edits again.
	clock.Advance(time.Minute)
	c2 := e.Dial(t, d.ID, "again")
	if err := c2.Edit("issues", insertAt(0, "c")); err != nil {
		t.Fatal(err)
	}
	if err := c2.WaitConfirmed(ctx); err != nil {
		t.Fatalf("the edit after the minute: %v", err)
	}
}

// TestCreationLimit: past CreationsPerHour documents or BPFs, 429 with
// Retry-After, nothing created.
func TestCreationLimit(t *testing.T) {
	e := collabtest.New(t, collab.Config{CreationsPerHour: 2})
	e.CreateDoc(t, "bpf-output", "One")
	e.PostJSON(t, "/api/bpfs", map[string]any{"name": "B", "year": 2026}, 201, nil)
	resp := e.Do(t, "POST", "/api/documents", "application/json", `{"template":"bpf-output","title":"Three"}`)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third creation: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var docs struct{ Documents []json.RawMessage }
	e.GetJSON(t, "/api/documents", 200, &docs)
	if len(docs.Documents) != 1 {
		t.Fatalf("%d documents", len(docs.Documents))
	}
}

// TestSetupLink: a server without a Secretariat hands out a one-time link
// that makes the first one; a second link revokes the first; once there
// is a Secretariat there is no link.
func TestSetupLink(t *testing.T) {
	e := collabtest.New(t, collab.Config{}, collabtest.Options{NoSecretariat: true})
	ctx := context.Background()
	first, err := e.Server.SetupLink(ctx)
	if err != nil || !strings.HasPrefix(first, "/join/") {
		t.Fatalf("SetupLink = %q, %v", first, err)
	}
	link, err := e.Server.SetupLink(ctx)
	if err != nil || link == first {
		t.Fatalf("second SetupLink = %q, %v", link, err)
	}
	if status, _ := e.Call(t, "GET", first, "", ""); status != 410 {
		t.Fatalf("the first link after a second was made: %d; want 410", status)
	}
	status, page := e.Call(t, "GET", link, "", "")
	if status != 200 || !strings.Contains(string(page), "Set up bpfdraft") {
		t.Fatalf("setup page: %d", status)
	}
	resp, body := e.Anonymous().Form(t, link, url.Values{"name": {"Sam"}, "email": {"sam@example.org"}, "password": {"a long password"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/dashboard" {
		t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
	sam := e.Anonymous()
	sam.Cookie = collabtest.SessionCookie + "=" + cookieOf(resp)
	if status, _ := sam.Call(t, "GET", "/dashboard", "", ""); status != 200 {
		t.Fatalf("the new Secretariat's dashboard: %d", status)
	}
	if link, err := e.Server.SetupLink(ctx); err != nil || link != "" {
		t.Fatalf("SetupLink with a Secretariat = %q, %v", link, err)
	}
}

// TestDemo: the demo makes one account per role, each signing in with
// the password printed, each with its role for the demo document; run
// again, the passwords change.
func TestDemo(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	ctx := context.Background()
	accounts, err := e.Server.Demo(ctx)
	if err != nil || len(accounts) != 4 {
		t.Fatalf("Demo = %v, %v", accounts, err)
	}
	for _, a := range accounts {
		resp, _ := signIn(t, e, "", "", a.Email, a.Password)
		p := e.Anonymous()
		p.Cookie = collabtest.SessionCookie + "=" + cookieOf(resp)
		var v struct {
			Role string
			Can  []string
		}
		if a.Role == access.Public { // the draft is not published: not theirs to see
			p.GetJSON(t, "/api/documents/demo-output/access", 404, nil)
			continue
		}
		p.GetJSON(t, "/api/documents/demo-output/access", 200, &v)
		if v.Role != string(a.Role) {
			t.Errorf("%s: role %q for the demo document", a.Email, v.Role)
		}
	}
	var d collabtest.Doc
	e.GetJSON(t, "/api/documents/demo-output", 200, &d)
	written := 0
	for _, s := range d.Sections {
		if s.Text != "" {
			written++
		}
	}
	if written == 0 || written == len(d.Sections) {
		t.Fatalf("%d of %d sections written; want a partly written document", written, len(d.Sections))
	}
	again, err := e.Server.Demo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := signIn(t, e, "", "", accounts[0].Email, accounts[0].Password); resp.StatusCode != 401 || again[0].Password == accounts[0].Password {
		t.Fatalf("the old demo password still works: %d", resp.StatusCode)
	}
}

// TestAuditLog: what people do is recorded, for the Secretariat only, as
// JSON and as CSV.
func TestAuditLog(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	e := s.e
	var v struct{ Link string }
	e.PostJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", map[string]string{"role": "co-facilitator", "note": "Ana"}, 201, &v)
	s.moveTo(t, editor.StagePublicComment)
	c := s.people[2].p.Dial(t, s.doc.ID, "writer")
	if err := c.Edit("issues", insertAt(0, "Hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConfirmed(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Entries []struct {
			Seq                          int64
			Action, Account, Doc, Detail string
		}
	}
	e.GetJSON(t, "/api/audit", 200, &log)
	seen := map[string]bool{}
	for i, en := range log.Entries {
		seen[en.Action] = true
		if en.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, en.Seq)
		}
	}
	for _, want := range []string{"sign-in", "bpf created", "document created", "invitation created", "stage", "published", "editing session"} {
		if !seen[want] {
			t.Errorf("no %q in the audit log: %v", want, seen)
		}
	}
	e.CreateDoc(t, "bpf-output", "=1+1")
	resp := e.Do(t, "GET", "/audit.csv?action=document+created", "", "")
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "seq" || rows[2][8] != "'=1+1" || rows[1][7] != s.doc.ID {
		t.Fatalf("CSV %v, %v; want a header and the two documents, the formula-like title escaped", rows, err)
	}
	for _, p := range s.people[:5] {
		if status, _ := p.p.Call(t, "GET", "/api/audit", "", ""); status != 401 && status != 403 {
			t.Errorf("%s reads the audit log: %d", p.name, status)
		}
	}
}

// TestSecretariatPages walks the Secretariat's forms: a BPF and a
// document from the dashboard, an invitation from the team page, the
// stage from the settings page.
func TestSecretariatPages(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	e := s.e
	resp, body := e.Person.Form(t, "/dashboard/bpfs", url.Values{"name": {"BPF on Data"}, "year": {"2026"}, "meeting_date": {"2026-12-01"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "The BPF BPF on Data was created.") {
		t.Fatalf("create a BPF: %d %s", resp.StatusCode, body)
	}
	resp, body = e.Person.Form(t, "/dashboard/bpfs", url.Values{"name": {""}, "year": {"1999"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "There is a problem") {
		t.Fatalf("a bad BPF: %d %s", resp.StatusCode, body)
	}
	resp, body = e.Person.Form(t, "/dashboard/documents", url.Values{"title": {"Data output"}, "template": {"bpf-output"}, "bpf": {s.bpf.ID}})
	if resp.StatusCode != 200 || !strings.Contains(body, "The document Data output was created.") {
		t.Fatalf("create a document: %d %s", resp.StatusCode, body)
	}
	status, dash := e.Call(t, "GET", "/dashboard", "", "")
	if status != 200 || !strings.Contains(string(dash), "Data output") || !strings.Contains(string(dash), "BPF on Data") || !strings.Contains(string(dash), "<h2>2026</h2>") {
		t.Fatalf("dashboard: %d", status)
	}
	resp, body = e.Person.Form(t, "/bpfs/"+s.bpf.ID+"/invitations", url.Values{"role": {"mag-facilitator"}, "note": {"Maria"}})
	if resp.StatusCode != 200 || !linkPattern.MatchString(body) || !strings.Contains(body, `id="invitation-link"`) {
		t.Fatalf("invite: %d %s", resp.StatusCode, body)
	}
	status, team := e.Call(t, "GET", "/bpfs/"+s.bpf.ID, "", "")
	if status != 200 || linkPattern.MatchString(string(team)) || !strings.Contains(string(team), "Maria") {
		t.Fatalf("the team page again shows the link or not the invitation: %d", status)
	}
	resp, body = e.Person.Form(t, "/d/"+s.doc.ID+"/settings", url.Values{"stage": {"public-comment"}, "opens": {"2026-10-01T00:00"}, "closes": {"2026-11-15T00:00"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Saved: the document is in public-comment.") || !strings.Contains(body, "open now") {
		t.Fatalf("settings: %d %s", resp.StatusCode, body)
	}
	status, team = e.Call(t, "GET", "/bpfs/"+s.bpf.ID, "", "")
	if status != 200 || !strings.Contains(string(team), "<strong>Done</strong>: draft published for public comment ahead of the annual meeting (opened 2026-10-01, 8.7 weeks before the annual meeting)") {
		t.Fatalf("checklist: %s", team)
	}
	// The home page lists it now, for everyone.
	status, home := e.Anonymous().Call(t, "GET", "/", "", "")
	if status != 200 || !strings.Contains(string(home), "Output</a> — open for public comment") || strings.Contains(string(home), "Data output") {
		t.Fatalf("home: %s", home)
	}
	// Not for a co-facilitator: a page that says so, not JSON.
	status, page := s.people[2].p.Call(t, "GET", "/dashboard", "", "")
	if status != 403 || !strings.Contains(string(page), "<h1>You cannot do this</h1>") {
		t.Fatalf("dashboard for a co-facilitator: %d %s", status, page)
	}
	// Nobody signed in is sent to sign in, and back.
	resp = e.Anonymous().Do(t, "GET", "/dashboard", "", "")
	resp.Body.Close()
	if resp.Request.URL.Path != "/sign-in" || resp.Request.URL.Query().Get("next") != "/dashboard" {
		t.Fatalf("anonymous dashboard ended at %s", resp.Request.URL)
	}
}

// TestPeoplePages: registering and signing in with the forms, errors
// shown on the form.
func TestPeoplePages(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	anon := e.Anonymous()
	fields := url.Values{"name": {"Pat"}, "email": {"pat@example.org"}, "password": {"a long password"}, "stakeholder_group": {"technical community"},
		"country": {"Ghana"}, "named_in_report": {"yes"}, "next": {"/d/x"}}
	resp, body := anon.Form(t, "/register", fields)
	if resp.StatusCode != 400 || !strings.Contains(body, `href="#accept_code_of_conduct"`) || strings.Contains(body, "a long password") {
		t.Fatalf("register without the Code of Conduct: %d %s", resp.StatusCode, body)
	}
	fields.Set("accept_code_of_conduct", "yes")
	resp, body = anon.Form(t, "/register", fields)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/d/x" || cookieOf(resp) == "" {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	acct, err := e.Store.AccountByEmail(context.Background(), "pat@example.org")
	if err != nil || acct.StakeholderGroup != "technical community" || !acct.NamedInReport || acct.ConductAccepted.IsZero() || acct.Secretariat {
		t.Fatalf("account %+v, %v", acct, err)
	}
	resp, body = anon.Form(t, "/sign-in", url.Values{"email": {"pat@example.org"}, "password": {"wrong password"}, "next": {"//evil.example"}})
	if resp.StatusCode != 401 || !strings.Contains(body, "not right") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, _ = anon.Form(t, "/sign-in", url.Values{"email": {"pat@example.org"}, "password": {"a long password"}, "next": {"//evil.example"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in: %d to %q; want / (never another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	pat := e.Anonymous()
	pat.Cookie = collabtest.SessionCookie + "=" + cookieOf(resp)
	var sv struct {
		Account struct{ Name string }
		CSRF    string
	}
	pat.GetJSON(t, "/api/session", 200, &sv)
	pat.CSRF = sv.CSRF
	status, home := pat.Call(t, "GET", "/", "", "")
	if status != 200 || !strings.Contains(string(home), "Signed in as Pat") {
		t.Fatalf("home signed in: %d", status)
	}
	resp, _ = pat.Form(t, "/sign-out", url.Values{})
	if resp.StatusCode != 303 || sessionAccount(t, e, strings.TrimPrefix(pat.Cookie, collabtest.SessionCookie+"=")) != "" {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
}

// TestEditPageReadOnly: a person who may read the live draft but not edit
// it gets the editing page read-only; the team gets it to edit, with the
// name of their account.
func TestEditPageReadOnly(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", map[string]any{"stage": "drafting", "public_draft": true}, 200, nil)
	status, page := s.people[1].p.Call(t, "GET", "/edit/"+s.doc.ID, "", "")
	if status != 200 || !strings.Contains(string(page), `data-read-only="true"`) || !strings.Contains(string(page), `<form id="add-section" class="add-section" hidden>`) {
		t.Fatalf("the public's editing page: %d", status)
	}
	co := s.people[2].p
	status, page = co.Call(t, "GET", "/edit/"+s.doc.ID, "", "")
	if status != 200 || strings.Contains(string(page), `data-read-only`) || !strings.Contains(string(page), `data-user-name="`+co.Account.Name+`"`) {
		t.Fatalf("the team's editing page: %d", status)
	}
}

// TestSlowBodyCutOff: a request that sends its body too slowly is cut
// off, not held open.
func TestSlowBodyCutOff(t *testing.T) {
	e := collabtest.New(t, collab.Config{BodyTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers and the start of a body that never ends.
	fmt.Fprintf(conn, "POST /api/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nX-CSRF-Token: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"template\":", e.Cookie, e.CSRF)
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // the test's bound, far beyond the server's
	data, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the server held the connection: %v (read %q)", err, data)
	}
	if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/1.1 4") {
		t.Fatalf("answer to a slow body: %q", data)
	}
}

// TestAccountPage: a person sees their account and signs out everywhere
// from it; nobody signed in is sent to sign in.
func TestAccountPage(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	co := s.people[2].p
	status, page := co.Call(t, "GET", "/account", "", "")
	if status != 200 || !strings.Contains(string(page), "co-facilitator of BPF on Cybersecurity") || !strings.Contains(string(page), co.Account.Email) {
		t.Fatalf("account page: %d\n%s", status, page)
	}
	other, _ := signIn(t, s.e, "", "", co.Account.Email, co.Password)
	resp, _ := co.Form(t, "/account/sign-out-everywhere", url.Values{})
	if resp.StatusCode != 303 || sessionAccount(t, s.e, cookieOf(other)) != "" || sessionAccount(t, s.e, strings.TrimPrefix(co.Cookie, collabtest.SessionCookie+"=")) != "" {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	resp = s.e.Anonymous().Do(t, "GET", "/account", "", "")
	resp.Body.Close()
	if resp.Request.URL.Path != "/sign-in" {
		t.Fatalf("anonymous account page ended at %s", resp.Request.URL)
	}
}

// TestAccessRevokedCloses: a connection keeps the role it opened with,
// so losing access closes it: removed from the team, or the draft no
// longer public for a reader.
func TestAccessRevokedCloses(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	ctx := waitCtx(t)
	dial := func(p *collabtest.Person) (*client.Client, chan *client.ServerError) {
		errs := make(chan *client.ServerError, 4)
		c, err := client.Dial(ctx, s.e.URL, s.doc.ID, client.Options{Header: p.Header(), OnError: func(se *client.ServerError) { errs <- se }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, errs
	}
	wantForbidden := func(who string, errs chan *client.ServerError) {
		t.Helper()
		select {
		case se := <-errs:
			if se.Code != collab.CodeForbidden {
				t.Fatalf("%s: %+v; want forbidden", who, se)
			}
		case <-ctx.Done():
			t.Fatalf("%s: the connection stayed open", who)
		}
	}
	co := s.people[2].p
	_, coErrs := dial(co)
	var members struct{ Members []struct{ Account string } }
	s.e.GetJSON(t, "/api/bpfs/"+s.bpf.ID+"/members", 200, &members)
	if status, _ := s.e.Call(t, "DELETE", "/api/bpfs/"+s.bpf.ID+"/members/"+co.Account.ID, "", ""); status != 204 {
		t.Fatalf("remove: %d", status)
	}
	wantForbidden("the removed co-facilitator", coErrs)

	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", map[string]any{"public_draft": true}, 200, nil)
	reader, readerErrs := dial(s.people[1].p)
	mag, magErrs := dial(s.people[3].p)
	s.e.PostJSON(t, "/api/documents/"+s.doc.ID+"/workflow", map[string]any{"public_draft": false}, 200, nil)
	wantForbidden("the public reader", readerErrs)
	// The team stays.
	if err := mag.Edit("issues", insertAt(0, "still here")); err != nil {
		t.Fatal(err)
	}
	if err := mag.WaitConfirmed(ctx); err != nil {
		t.Fatalf("the MAG facilitator after the draft was closed: %v", err)
	}
	select {
	case se := <-magErrs:
		t.Fatalf("the MAG facilitator was told %+v", se)
	default:
	}
	_ = reader
}

// TestPublishedVersion: what the public reads is the version published
// when comment opened, not the team's later edits; the team reads both.
func TestPublishedVersion(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	co := s.people[2].p
	c := co.Dial(t, s.doc.ID, "writer")
	ctx := waitCtx(t)
	edit := func(text string) {
		t.Helper()
		if err := c.Edit("issues", insertAt(0, text)); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	edit("Published text. ")
	public := s.people[1].p
	public.GetJSON(t, "/api/documents/"+s.doc.ID+"/published", 404, nil) // nothing published yet
	s.moveTo(t, editor.StagePublicComment)
	edit("Later text. ")
	var pub, live collabtest.Doc
	public.GetJSON(t, "/api/documents/"+s.doc.ID+"/published", 200, &pub)
	co.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &live)
	if pub.Sections[0].Text != "Published text. " || live.Sections[0].Text != "Later text. Published text. " {
		t.Fatalf("published %q, live %q", pub.Sections[0].Text, live.Sections[0].Text)
	}
	status, page := public.Call(t, "GET", "/d/"+s.doc.ID, "", "")
	if status != 200 || !strings.Contains(string(page), "Published text.") || strings.Contains(string(page), "Later text.") {
		t.Fatalf("the public's reading view: %d", status)
	}
}

// TestJoinOverAPI: a signed-in person takes an invitation with the API;
// a second take is refused with its code.
func TestJoinOverAPI(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	var v struct{ Link string }
	s.e.PostJSON(t, "/api/bpfs/"+s.bpf.ID+"/invitations", map[string]string{"role": "mag-facilitator"}, 201, &v)
	token := strings.TrimPrefix(linkPattern.FindString(v.Link), "/join/")
	p := s.e.NewPerson(t, access.Public, "")
	var out struct{ BPF, Role string }
	p.PostJSON(t, "/api/invitations/"+token, nil, 200, &out)
	if out.BPF != s.bpf.ID || out.Role != "mag-facilitator" {
		t.Fatalf("joined %+v", out)
	}
	p.GetJSON(t, "/api/documents/"+s.doc.ID, 200, nil)
	status, body := s.e.NewPerson(t, access.Public, "").Call(t, "POST", "/api/invitations/"+token, "application/json", "")
	if status != 410 || !strings.Contains(string(body), `"invitation_used"`) {
		t.Fatalf("second take: %d %s", status, body)
	}
	if status, _ := s.e.Anonymous().Call(t, "POST", "/api/invitations/"+token, "application/json", ""); status != 401 {
		t.Fatalf("anonymous take: %d", status)
	}
}

// TestTrustProxy: behind a trusted proxy, limits count the address the
// proxy adds to X-Forwarded-For; otherwise the connection's, whatever a
// client claims.
func TestTrustProxy(t *testing.T) {
	for _, trust := range []bool{false, true} {
		e := collabtest.New(t, collab.Config{SignInsPerMinute: 2, TrustProxy: trust}, collabtest.Options{NoSecretariat: true})
		var statuses []int
		for i, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
			req, _ := http.NewRequest("POST", e.URL+"/api/session", strings.NewReader(fmt.Sprintf(`{"email":"nobody%d@example.org","password":"x"}`, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "203.0.113.9, "+addr)
			resp, err := e.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		want := fmt.Sprint([]int{401, 401, 429}) // one address: two a minute
		if trust {
			want = fmt.Sprint([]int{401, 401, 401}) // three addresses
		}
		if fmt.Sprint(statuses) != want {
			t.Fatalf("trust %v: %v; want %v", trust, statuses, want)
		}
	}
}

// TestEditPageSendsReadersToPublished: one who may read only the
// published version, opening the editing page, is sent to the reading
// view.
func TestEditPageSendsReadersToPublished(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	s.moveTo(t, editor.StagePublicComment)
	req, _ := http.NewRequest("GET", s.e.URL+"/edit/"+s.doc.ID, nil)
	req.Header.Set("Cookie", s.people[1].p.Cookie)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 303 || r.Header.Get("Location") != "/d/"+s.doc.ID {
		t.Fatalf("the public's editing page: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestSessionExpires: a session ends after SessionLifetime, by the
// server's clock, and is then deleted.
func TestSessionExpires(t *testing.T) {
	clock := collabtest.NewClock(t0)
	e := collabtest.New(t, collab.Config{SessionLifetime: time.Hour}, collabtest.Options{Now: clock.Now})
	cookie := strings.TrimPrefix(e.Cookie, collabtest.SessionCookie+"=")
	clock.Advance(59 * time.Minute)
	if sessionAccount(t, e, cookie) == "" {
		t.Fatal("the session ended early")
	}
	clock.Advance(time.Minute + time.Second)
	if who := sessionAccount(t, e, cookie); who != "" {
		t.Fatalf("an expired session signs in %s", who)
	}
	sessions, err := e.Store.DeleteSessions(context.Background(), e.Account.ID)
	if err != nil || sessions != 0 {
		t.Fatalf("%d sessions left after expiry, %v", sessions, err)
	}
}
