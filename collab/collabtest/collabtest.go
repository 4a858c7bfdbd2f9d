// Package collabtest builds a bpfdraft server for tests the one way every
// test does, as main builds it: collab.New on a bbolt store in a
// temporary directory, served by httptest with the shutdown hook main
// registers. It also speaks the JSON API and the websocket for tests.
package collabtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"golang.org/x/crypto/bcrypt"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
)

// Env is a running test server. Its own requests (Call, PostJSON,
// GetJSON, Dial, CreateDoc) are made as a member of the Secretariat,
// signed in when the server starts.
type Env struct {
	*Person
	people int
	now    func() time.Time

	Server *collab.Server
	HTTP   *httptest.Server
	// Store is what the server stores in (the bbolt store, or what Wrap
	// made of it); Bolt is the bbolt store itself.
	Store store.Store
	Bolt  *boltstore.Store
	// Dir is the data directory.
	Dir string
	// URL is the server's base URL.
	URL string
}

// Options change how an Env is built.
type Options struct {
	// Wrap, if set, wraps the bbolt store (to inject faults).
	Wrap func(store.Store) store.Store
	// Now is the server's clock (default time.Now).
	Now func() time.Time
	// Dir is the data directory (default a new temporary one).
	Dir string
	// Log, if set, receives the server's debug log.
	Log io.Writer
	// NoSecretariat leaves the server without accounts: the Env's own
	// requests are then anonymous.
	NoSecretariat bool
}

// New starts a server with cfg; it is shut down when the test ends.
// Setting BPFDRAFT_TEST_LOG shows its debug log.
func New(t testing.TB, cfg collab.Config, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	bolt, err := boltstore.Open(o.Dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = bolt
	if o.Wrap != nil {
		st = o.Wrap(bolt)
	}
	log := slog.New(slog.DiscardHandler)
	if o.Log != nil {
		log = slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else if os.Getenv("BPFDRAFT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.MinCost
	}
	// Tests make many accounts, documents and connections from one
	// address; those that test a limit set it.
	if cfg.SignInsPerMinute == 0 {
		cfg.SignInsPerMinute = 1000
	}
	if cfg.SignUpsPerHour == 0 {
		cfg.SignUpsPerHour = 1000
	}
	for _, v := range []*int{&cfg.CreationsPerHour, &cfg.EditsPerMinute, &cfg.CommentsPerHour, &cfg.SocketsPerAccount, &cfg.SocketsPerAddress} {
		if *v == 0 {
			*v = -1
		}
	}
	srv := collab.New(cfg, st, log, o.Now)
	hs := httptest.NewServer(srv.Handler())
	hs.Config.RegisterOnShutdown(srv.BeginShutdown)
	e := &Env{Server: srv, HTTP: hs, Store: st, Bolt: bolt, Dir: o.Dir, URL: hs.URL, now: o.Now}
	t.Cleanup(e.Close)
	if o.NoSecretariat {
		e.Person = e.Anonymous()
	} else {
		e.Person = e.NewPerson(t, access.Secretariat, "")
	}
	return e
}

// Close shuts the server down and closes the store; it may be called
// more than once.
func (e *Env) Close() {
	e.HTTP.Close()
	e.Server.Shutdown(context.Background())
	e.Bolt.Close()
}

// Person is someone using the server: signed in as an account (with its
// session's cookie and CSRF token), or anonymous. Its requests and
// websockets carry its cookie.
type Person struct {
	env *Env
	// Account is the person's account (nil if anonymous); Password its
	// password.
	Account  *store.Account
	Password string
	// Cookie is the session cookie ("name=value"), CSRF its token.
	Cookie string
	CSRF   string
}

// Anonymous returns a person who is not signed in.
func (e *Env) Anonymous() *Person { return &Person{env: e} }

// NewPerson makes an account with role (for bpf's team when role is a team
// role) and signs it in. Its id, email and name come from a counter, so a
// server restarted on the same data has the same people in the same
// order (and NewPerson then signs in the account already there).
func (e *Env) NewPerson(t testing.TB, role access.Role, bpf string) *Person {
	t.Helper()
	e.people++
	id := fmt.Sprintf("%s-%d", role, e.people)
	acct, err := collab.NewAccount("acct-"+id, id+"@example.org", "Person "+id, "password of "+id, bcrypt.MinCost, e.now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	switch role {
	case access.Secretariat:
		acct.Secretariat = true
	case access.Public:
		acct.StakeholderGroup, acct.Country, acct.ConductAccepted = "civil society", "Kenya", acct.Created
	case access.Anonymous:
		return e.Anonymous()
	}
	ctx := context.Background()
	err = e.Store.CreateAccount(ctx, acct)
	if errors.Is(err, store.ErrExists) {
		// A server restarted on the same data: the same people.
		if acct, err = e.Store.GetAccount(ctx, acct.ID); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	if role == access.CoFacilitator || role == access.MAGFacilitator {
		if err := e.Store.SetMembership(ctx, store.Membership{BPF: bpf, Account: acct.ID, Role: string(role), Added: acct.Created}); err != nil {
			t.Fatal(err)
		}
	}
	p := &Person{env: e, Account: acct, Password: "password of " + id}
	p.SignIn(t)
	return p
}

// URL is the server's base URL.
func (p *Person) URL() string { return p.env.URL }

// SignIn signs the person in afresh (a new session).
func (p *Person) SignIn(t testing.TB) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": p.Account.Email, "password": p.Password})
	resp, err := p.env.HTTP.Client().Post(p.env.URL+"/api/session", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CSRF string `json:"csrf"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign in as %s: status %d, %v", p.Account.Email, resp.StatusCode, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			p.Cookie = c.Name + "=" + c.Value
		}
	}
	if p.Cookie == "" {
		t.Fatalf("sign in as %s: no session cookie", p.Account.Email)
	}
	p.CSRF = out.CSRF
}

// SessionCookie is the name of the session cookie.
const SessionCookie = "bpfdraft_session"

// Header returns the headers the person's requests carry: the session
// cookie and the CSRF token.
func (p *Person) Header() http.Header {
	h := http.Header{}
	if p.Cookie != "" {
		h.Set("Cookie", p.Cookie)
		h.Set("X-CSRF-Token", p.CSRF)
	}
	return h
}

// Call makes a request as the person and returns its status and body.
func (p *Person) Call(t testing.TB, method, path, contentType, body string) (int, []byte) {
	t.Helper()
	resp := p.Do(t, method, path, contentType, body)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// Do makes a request as the person and returns the response, whose body
// the caller closes.
func (p *Person) Do(t testing.TB, method, path, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, p.env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = p.Header()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Form posts a form as a browser does (application/x-www-form-urlencoded,
// with the session's csrf field when signed in), without following
// redirects; it returns the response and its body.
func (p *Person) Form(t testing.TB, path string, fields url.Values) (*http.Response, string) {
	t.Helper()
	if p.CSRF != "" {
		fields.Set("csrf", p.CSRF)
	}
	return p.send(t, path, "application/x-www-form-urlencoded", strings.NewReader(fields.Encode()))
}

// Multipart posts a form as multipart/form-data, the field "file" as a
// file upload, like Form otherwise.
func (p *Person) Multipart(t testing.TB, path string, fields map[string]string) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if p.CSRF != "" {
		mw.WriteField("csrf", p.CSRF)
	}
	for k, v := range fields {
		if k == "file" {
			fw, _ := mw.CreateFormFile("file", "draft.md")
			io.WriteString(fw, v)
			continue
		}
		mw.WriteField(k, v)
	}
	mw.Close()
	return p.send(t, path, mw.FormDataContentType(), &body)
}

func (p *Person) send(t testing.TB, path, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", p.env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if p.Cookie != "" {
		req.Header.Set("Cookie", p.Cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// PostJSON posts v as JSON, checks the status and decodes the answer into
// out (unless nil).
func (p *Person) PostJSON(t testing.TB, path string, v any, want int, out any) {
	t.Helper()
	body, _ := json.Marshal(v)
	status, data := p.Call(t, "POST", path, "application/json", string(body))
	if status != want {
		t.Fatalf("POST %s: status %d; want %d\n%s", path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// GetJSON gets path, checks the status and decodes the answer into out
// (unless nil).
func (p *Person) GetJSON(t testing.TB, path string, want int, out any) {
	t.Helper()
	status, data := p.Call(t, "GET", path, "", "")
	if status != want {
		t.Fatalf("GET %s: status %d; want %d\n%s", path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, data)
		}
	}
}

// Doc is a document as the API returns it.
type Doc struct {
	ID       string `json:"id"`
	BPF      string `json:"bpf"`
	Template string `json:"template"`
	Title    string `json:"title"`
	Seq      int64  `json:"seq"`
	Sections []struct {
		ID      string   `json:"id"`
		Title   string   `json:"title"`
		Kind    string   `json:"kind"`
		Text    string   `json:"text"`
		Version int      `json:"version"`
		Paras   []string `json:"paras"`
	} `json:"sections"`
}

// CreateDoc creates a document from a template.
func (p *Person) CreateDoc(t testing.TB, template, title string) Doc {
	t.Helper()
	var d Doc
	p.PostJSON(t, "/api/documents", map[string]string{"template": template, "title": title}, 201, &d)
	return d
}

// Key returns a client key for a name, the same for the same name.
func Key(name string) string { return "key-of-" + name + "-0123456789" }

// Dial connects a client to a document as the person, with the key of
// name; it is closed when the test ends.
func (p *Person) Dial(t testing.TB, doc, name string, opts ...func(*client.Options)) *client.Client {
	t.Helper()
	o := client.Options{Key: Key(name), Name: "Name of " + name, Header: p.Header()}
	for _, f := range opts {
		f(&o)
	}
	c, err := client.Dial(context.Background(), p.env.URL, doc, o)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Clock is a clock a test sets by hand: the server's Now, for windows,
// expiries and rate limits.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
