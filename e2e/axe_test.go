package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/chromedp/chromedp"
)

// axePath is axe-core from the frontend's devDependencies (npm ci).
var axePath = filepath.Join("..", "frontend", "node_modules", "axe-core", "axe.min.js")

// axeViolation is one rule that failed, with the elements that fail it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  json.RawMessage `json:"target"`
		Summary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// runAxe injects axe-core into the page and returns its violations.
func runAxe(t *testing.T, b *browser, script string) []axeViolation {
	t.Helper()
	if _, err := eval[chromedp.Void](b, script); err != nil {
		t.Fatalf("%s: injecting axe-core: %v", b.name, err)
	}
	ctx, cancel := contextTimeout(b, 30*time.Second)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}](`axe.run(document).then(r => ({passes: r.passes.length, violations: r.violations}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: running axe-core: %v", b.name, err)
	}
	// A page on which no rule passed was not checked at all.
	if r.Passes == 0 {
		t.Fatalf("%s: axe-core passed no rule; want a checked page", b.name)
	}
	t.Logf("%s: axe-core: %d rules passed, %d violated", b.name, r.Passes, len(r.Violations))
	return r.Violations
}

// checkAxe fails the test on every serious or critical violation, and
// logs the others.
func checkAxe(t *testing.T, view string, vs []axeViolation) {
	t.Helper()
	for _, v := range vs {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, string(n.Target))
		}
		msg := fmt.Sprintf("%s: axe %s (%s): %s\n  targets: %s\n  %s", view, v.ID, v.Impact, v.Help, strings.Join(targets, " "), v.HelpURL)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s\n  first failure: %s", msg, v.Nodes[0].Summary)
		} else {
			t.Logf("minor: %s", msg)
		}
	}
}

// axeScript reads axe-core.
func axeScript(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core: %v; run ./scripts/test (npm ci --prefix frontend installs it)", err)
	}
	return string(script)
}

// TestAccessibility runs axe-core on the editing view, with another person
// in the document, and on the reading view.
func TestAccessibility(t *testing.T) {
	script := axeScript(t)
	s := newServer(t)
	ana := s.memberBrowser(t, "Ana Silva")
	bo := s.memberBrowser(t, "Bo Chen")
	writeParagraphs(t, s, ana)
	bo.openEditor(s)
	if err := bo.typeAt(s.sections[1], true, " Bo was here."); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 15*time.Second, ana, bo)
	ana.must("wait for Bo's cursor", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(`.remote-caret[data-name="Bo Chen"]`)))

	checkAxe(t, "editing view", runAxe(t, ana, script))

	ana.must("open the reading view", 15*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS("nav.toc")),
	)
	checkAxe(t, "reading view", runAxe(t, ana, script))
}

// TestAccessibilityOfPeoplePages runs axe-core on the server's pages of
// people and of the Secretariat: signing in (also with an error),
// registering and joining a team (not signed in); the dashboard, a BPF's
// team page, a document's stage and window, the audit log and the home
// page (as the Secretariat). Each page has something in every part: the
// team a member and an open invitation, the document a comment window.
func TestAccessibilityOfPeoplePages(t *testing.T) {
	script := axeScript(t)
	s := newServer(t)
	visitor := newBrowser(t, "a visitor")
	s.member(t, "Ana Silva")
	var inv struct {
		Link string `json:"link"`
	}
	s.env.PostJSON(t, "/api/bpfs/"+s.bpf+"/invitations", map[string]string{"role": "co-facilitator", "note": "Bo Chen"}, http.StatusCreated, &inv)
	if !strings.Contains(inv.Link, "/join/") {
		t.Fatalf("invitation link %q; want /join/…", inv.Link)
	}
	now := time.Now().UTC()
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/workflow", map[string]any{"stage": "public-comment", "opens": now.Add(-time.Hour), "closes": now.AddDate(0, 0, 30)}, http.StatusOK, nil)
	secretariat := visitor.newContext("the Secretariat")
	secretariat.signIn(s.env.NewPerson(t, access.Secretariat, ""))

	check := func(b *browser, view string, actions ...chromedp.Action[chromedp.Void]) {
		t.Run(view, func(t *testing.T) {
			if err := b.do(30*time.Second, actions...); err != nil {
				t.Fatalf("%s: open %s: %v", b.name, view, err)
			}
			checkAxe(t, view, runAxe(t, b, script))
		})
	}
	// open loads a page and waits for what shows it is the page meant.
	open := func(path, want string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.env.URL + path), chromedp.WaitVisible(chromedp.CSS(want))}
	}
	check(visitor, "sign-in page", open("/sign-in", "#password")...)
	check(visitor, "sign-in page with an error", append(open("/sign-in", "#password"),
		chromedp.SendKeys(chromedp.CSS("#email"), "nobody@example.org"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS(`main form [type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))...)
	check(visitor, "registration page", open("/register", "#accept_code_of_conduct")...)
	check(visitor, "join page", open(strings.TrimPrefix(inv.Link, s.env.URL), `main form[action^="/join/"] #password`)...)
	check(secretariat, "dashboard", open("/dashboard", fmt.Sprintf(`table.data a[href="/d/%s"]`, s.docID))...)
	check(secretariat, "team page", open("/bpfs/"+s.bpf, `form[action$="/invitations"] #note`)...)
	check(secretariat, "stage and window", open("/d/"+s.docID+"/settings", "main time")...)
	check(secretariat, "audit log", open("/audit", "table.data")...)
	// The comment pages: a comment to show, a form to comment, the report
	// of what was done with each (with its forms, for the Secretariat).
	var c struct {
		ID string `json:"id"`
	}
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/comments", map[string]string{"section": "issues", "text": "A comment to decide on."}, http.StatusCreated, &c)
	check(secretariat, "comment form", open("/d/"+s.docID+"/comment?section=issues", "#text")...)
	check(secretariat, "comment action (hide)", open("/d/"+s.docID+"/comments/"+c.ID+"/hide", "#reason")...)
	check(secretariat, "disposition report", open("/d/"+s.docID+"/disposition", "#disposition-"+c.ID)...)
	check(secretariat, "what changed", open("/d/"+s.docID+"/changes", "#version-name")...)
	check(secretariat, "home page (signed in)", open("/", fmt.Sprintf(`main a[href="/d/%s"]`, s.docID))...)

	// The editing view for one who reads the live draft, not signed in,
	// once the Secretariat lets everyone read it.
	s.env.PostJSON(t, "/api/documents/"+s.docID+"/workflow", map[string]any{"stage": "public-comment", "opens": now.Add(-time.Hour), "closes": now.AddDate(0, 0, 30), "public_draft": true}, http.StatusOK, nil)
	visitor.openEditor(s)
	checkAxe(t, "editing view (reading the live draft)", runAxe(t, visitor, script))
}
