package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which ./scripts/test installs.
const chromiumPath = "/usr/bin/chromium"

// server is the real bpfdraft server with one bpf-output document of a
// BPF. Its env is signed in as the Secretariat, which reads the document
// through the API.
type server struct {
	env      *collabtest.Env
	bpf      string // the document's BPF, whose team edits it
	docID    string
	sections []string // section ids in document order
}

// docJSON is the part of GET /api/documents/{id} the tests read.
type docJSON struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Sections []struct {
		ID    string   `json:"id"`
		Title string   `json:"title"`
		Text  string   `json:"text"`
		Paras []string `json:"paras"`
	} `json:"sections"`
}

// newServer builds the server as every test does (collabtest: as main
// builds it, on a bbolt store in a temporary directory) and, as the
// Secretariat, creates a BPF and a bpf-output document of it through the
// HTTP API. The people who edit it are the BPF's team (memberBrowser).
func newServer(t *testing.T) *server {
	t.Helper()
	env := collabtest.New(t, collab.Config{})
	var bpf struct {
		ID string `json:"id"`
	}
	env.PostJSON(t, "/api/bpfs", map[string]any{"name": "BPF Cybersecurity", "year": time.Now().UTC().Year()}, http.StatusCreated, &bpf)
	var d collabtest.Doc
	env.PostJSON(t, "/api/documents", map[string]string{"template": "bpf-output", "title": "BPF Cybersecurity output 2026", "bpf": bpf.ID}, http.StatusCreated, &d)
	s := &server{env: env, bpf: bpf.ID, docID: d.ID}
	for _, sec := range d.Sections {
		s.sections = append(s.sections, sec.ID)
	}
	if len(s.sections) < 3 {
		t.Fatalf("new bpf-output document has %d sections; want at least 3", len(s.sections))
	}
	return s
}

// serverOf is a document of env made some other way (through the
// dashboard, or the demo), with its sections as the server has them.
func serverOf(t *testing.T, env *collabtest.Env, docID string) *server {
	t.Helper()
	s := &server{env: env, docID: docID}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.document(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range d.Sections {
		s.sections = append(s.sections, sec.ID)
	}
	if len(s.sections) == 0 {
		t.Fatalf("document %s has no sections", docID)
	}
	return s
}

// member makes an account named name in the document's BPF's team (a
// co-facilitator) and signs it in. The name is the account's, which the
// server shows to others (it is what the editing view's cursors and list
// of people say).
func (s *server) member(t *testing.T, name string) *collabtest.Person {
	t.Helper()
	p := s.env.NewPerson(t, access.CoFacilitator, s.bpf)
	p.Account.Name = name
	if err := s.env.Store.UpdateAccount(context.Background(), p.Account); err != nil {
		t.Fatal(err)
	}
	return p
}

// memberBrowser starts a browser signed in as a new member of the
// document's team named name: one person of the team.
func (s *server) memberBrowser(t *testing.T, name string) *browser {
	t.Helper()
	b := newBrowser(t, name)
	b.signIn(s.member(t, name))
	return b
}

// document returns the document as the server has it now, read through
// the API as the Secretariat.
func (s *server) document(ctx context.Context) (docJSON, error) {
	var d docJSON
	req, err := http.NewRequestWithContext(ctx, "GET", s.env.URL+"/api/documents/"+s.docID, nil)
	if err != nil {
		return d, err
	}
	req.Header = s.env.Header()
	resp, err := s.env.HTTP.Client().Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("GET /api/documents/%s: status %d\n%s", s.docID, resp.StatusCode, data)
	}
	return d, json.Unmarshal(data, &d)
}

// texts returns the server's text of every section, by id.
func (s *server) texts(ctx context.Context) (map[string]string, error) {
	d, err := s.document(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, sec := range d.Sections {
		m[sec.ID] = sec.Text
	}
	return m, nil
}

func (s *server) editURL() string    { return s.env.URL + "/edit/" + s.docID }
func (s *server) readingURL() string { return s.env.URL + "/d/" + s.docID }

// browser is one Chromium process with its own profile: one person.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context // the tab; lives until the test's cleanup
}

// newBrowser starts Chromium with a fresh profile and a 1280×860 viewport,
// not signed in (signIn, or memberBrowser, signs it in).
func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	if testing.Short() {
		// A tier of its own, not a missing dependency: the full test
		// command runs every browser test.
		t.Skip("browser tests are not part of the fast tier (go test -short)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is missing (%v); run ./scripts/test, which installs it", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the tab and the browser go before
	// the server and the profile directory.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser, which lives as long as ctx: no
	// timeout on ctx itself, one on the wait.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting Chromium for %s: %v", name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("starting Chromium for %s: no answer in 30s", name)
	}
	return &browser{t: t, name: name, ctx: ctx}
}

// newContext opens a tab in a new browser context of b's Chromium: a
// profile of its own (no cookies or storage of b's), as another person's
// browser, cheaper than starting another Chromium.
func (b *browser) newContext(name string) *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	// Cleanups run last-in first-out: this context goes before b's.
	b.t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)) }()
	select {
	case err := <-started:
		if err != nil {
			b.t.Fatalf("opening a browser context for %s: %v", name, err)
		}
	case <-time.After(30 * time.Second):
		b.t.Fatalf("opening a browser context for %s: no answer in 30s", name)
	}
	return &browser{t: b.t, name: name, ctx: ctx}
}

// signIn gives the browser p's session: the session cookie, as the
// server sets it at sign-in (HttpOnly, SameSite=Lax, for the whole site).
// The pages the browser then loads carry the session's CSRF token
// themselves. Signing in through the sign-in page is signInPage.
func (b *browser) signIn(p *collabtest.Person) {
	b.t.Helper()
	name, value, ok := strings.Cut(p.Cookie, "=")
	if !ok || name != collabtest.SessionCookie || value == "" {
		b.t.Fatalf("%s: %q is not a session cookie", b.name, p.Cookie)
	}
	yes := true
	b.must("set the session cookie", 10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name: name, Value: value, URL: p.URL() + "/", Path: "/",
			HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
}

// signInPage signs in through the sign-in page, as a person does, with
// an email and password, and waits for the page it leads to (next, a path
// on the site), which names the person in the site's header. It returns
// what the header says.
func (b *browser) signInPage(base, email, password, next string) string {
	b.t.Helper()
	b.must("open the sign-in page", 20*time.Second,
		chromedp.Navigate(base+"/sign-in?"+url.Values{"next": {next}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	b.submit("sign in", `main form[action="/sign-in"]`, `.site-account form[action="/sign-out"]`)
	return b.text(".site-account")
}

// submit clicks the submit button of the form sel and waits until the
// page the form leads to shows want (follow).
func (b *browser) submit(what, form, want string) {
	b.t.Helper()
	b.follow(what, form+" [type=submit]", want)
}

// follow clicks the element sel (a link, a button) and waits until the
// page it leads to shows want. The page being left is marked first, so
// that nothing on it passes for the next page.
func (b *browser) follow(what, sel, want string) {
	b.t.Helper()
	if _, err := eval[chromedp.Void](b, `document.documentElement.dataset.e2eLeft = "yes"`); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
	b.must(what, 30*time.Second,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.CSS("html:not([data-e2e-left]) "+want)),
	)
}

// text returns the text of the first element matching the CSS selector
// sel, failing the test when there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	got, err := eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : "<no element " + %q + ">" })()`, sel, sel))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return got
}

// attr returns an attribute of the first element matching sel ("" when
// it has none), failing the test when there is no such element.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	got, err := eval[*string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.getAttribute(%q) || "" : null })()`, sel, name))
	if err != nil {
		b.t.Fatalf("%s: attribute %s of %s: %v", b.name, name, sel, err)
	}
	if got == nil {
		b.t.Fatalf("%s: no element %s", b.name, sel)
	}
	return *got
}

// location returns the page's URL.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := run(b, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.name, err)
	}
	return loc
}

// do runs actions with a timeout.
func (b *browser) do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// must runs actions with a timeout and fails the test on an error.
func (b *browser) must(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.do(timeout, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// contextTimeout returns the browser's context with a timeout.
func contextTimeout(b *browser, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, d)
}

// run runs an action that returns a value, with a timeout.
func run[T any](b *browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// eval evaluates a JavaScript expression in the page. DevTools evaluation
// is not subject to the page's Content-Security-Policy.
func eval[T any](b *browser, expr string) (T, error) {
	return run(b, chromedp.Evaluate[T](expr))
}

// openEditor opens the editing view and joins the document (joinEditor).
func (b *browser) openEditor(s *server) {
	b.t.Helper()
	b.must("open the editing view", 20*time.Second, chromedp.Navigate(s.editURL()))
	b.joinEditor(s)
}

// joinEditor waits for the editing view of s's document, which the
// browser is loading or has loaded; answers the name question in its
// dialog, as a person does, when the page asks it (it does not when the
// page carries the signed-in account's name; the server shows the
// account's name to others either way); then waits until the app is
// connected with every section's editor.
func (b *browser) joinEditor(s *server) {
	b.t.Helper()
	b.must("load the editing view", 20*time.Second, chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-doc=%q]`, s.docID))))
	named, err := eval[bool](b, `!!document.body.dataset.userName`)
	if err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
	if !named {
		b.must("answer the name question", 20*time.Second,
			chromedp.WaitVisible(chromedp.CSS("#name-input")),
			chromedp.SendKeys(chromedp.CSS("#name-input"), b.name),
			chromedp.Click(chromedp.CSS("#name-dialog button[type=submit]")),
			chromedp.WaitNotPresent(chromedp.CSS("#name-dialog")),
		)
	}
	b.must("wait for the editing view to connect", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#conn-state[data-state="connected"]`)),
		chromedp.WaitVisible(chromedp.CSS(editorSel(s.sections[len(s.sections)-1]))),
	)
}

// editorSel is the CSS selector of a section's editable text.
func editorSel(section string) string {
	return fmt.Sprintf(`[data-section=%q] .cm-content`, section)
}

// typeAt puts the cursor at the start (atEnd false) or end of a section's
// text and types text with real key events.
func (b *browser) typeAt(section string, atEnd bool, text string) error {
	key := "\u0306" // kb.Home
	if atEnd {
		key = "\u0305" // kb.End
	}
	return b.do(30*time.Second,
		chromedp.Focus(chromedp.CSS(editorSel(section))),
		chromedp.KeyEvent(key, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(text),
	)
}

// sessionState is what the app's session says about itself.
type sessionState struct {
	State   string            `json:"state"`
	Pending int               `json:"pending"`
	Texts   map[string]string `json:"texts"`
}

const sessionStateJS = `(() => {
	const s = window.bpfdraft.session
	const texts = {}
	for (const id of s.sections.keys()) texts[id] = s.text(id)
	return {state: s.state, pending: s.pending, texts}
})()`

func (b *browser) session() (sessionState, error) {
	return eval[sessionState](b, sessionStateJS)
}

// connState reads the connection element the person sees.
func (b *browser) connState() (state, pending string, err error) {
	attrs, err := eval[map[string]string](b, `(() => {
		const el = document.getElementById("conn-state")
		return {state: el.dataset.state, pending: el.dataset.pending}
	})()`)
	return attrs["state"], attrs["pending"], err
}

// poll calls check every 100ms until it returns "" or the timeout passes,
// and returns check's last answer.
func poll(timeout time.Duration, check func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" || time.Now().After(deadline) {
			return msg
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventually polls check and fails the test now if it never returns "".
func eventually(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	if msg := poll(timeout, check); msg != "" {
		t.Fatalf("%s: not after %v: %s", what, timeout, msg)
	}
}

// converged waits until every browser has nothing pending and the same
// text in every section as the server, and returns the server's texts.
func converged(t *testing.T, s *server, timeout time.Duration, browsers ...*browser) map[string]string {
	t.Helper()
	var want map[string]string
	eventually(t, timeout, "browsers and server agree", func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		want, err = s.texts(ctx)
		if err != nil {
			return err.Error()
		}
		for _, b := range browsers {
			got, err := b.session()
			if err != nil {
				return fmt.Sprintf("%s: %v", b.name, err)
			}
			if got.State != "connected" || got.Pending != 0 {
				return fmt.Sprintf("%s: state %s with %d pending; want connected with 0", b.name, got.State, got.Pending)
			}
			for _, id := range s.sections {
				if got.Texts[id] != want[id] {
					return fmt.Sprintf("%s: section %s: got %q; want the server's %q", b.name, id, got.Texts[id], want[id])
				}
			}
		}
		return ""
	})
	return want
}

// artifactDir is where screenshots go: $BPFDRAFT_ARTIFACTS, or
// test-artifacts/ at the top of the repository (gitignored).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BPFDRAFT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the browser's viewport as name.png among the artifacts
// and returns the PNG.
func (b *browser) screenshot(name string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot %s: %v", b.name, name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Fatalf("%s: screenshot %s is not a PNG", b.name, name)
	}
	path := filepath.Join(artifactDir(b.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return png
}

// tokens returns n distinct words "prefix1 … prefixN".
func tokens(prefix string, n int) []string {
	var ws []string
	for i := 1; i <= n; i++ {
		ws = append(ws, fmt.Sprintf("%s%d", prefix, i))
	}
	return ws
}

// countWords counts the whitespace-separated occurrences of each word in text.
func countWords(text string) map[string]int {
	m := map[string]int{}
	for _, w := range strings.Fields(text) {
		m[strings.Trim(w, ".,")]++
	}
	return m
}

// checkOnce fails the test unless every word occurs exactly once in text.
func checkOnce(t *testing.T, where, text string, words []string) {
	t.Helper()
	counts := countWords(text)
	var bad []string
	for _, w := range words {
		if counts[w] != 1 {
			bad = append(bad, fmt.Sprintf("%s×%d", w, counts[w]))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		t.Errorf("%s: got %s; want each typed word exactly once\ntext: %q", where, strings.Join(bad, ", "), text)
	}
}
