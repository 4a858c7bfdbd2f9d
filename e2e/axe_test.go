package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestAccessibility runs axe-core on the editing view, with another person
// in the document, and on the reading view.
func TestAccessibility(t *testing.T) {
	script, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core: %v; run ./scripts/test (npm ci --prefix frontend installs it)", err)
	}
	s := newServer(t)
	ana := newBrowser(t, "Ana Silva")
	bo := newBrowser(t, "Bo Chen")
	writeParagraphs(t, s, ana)
	bo.openEditor(s)
	if err := bo.typeAt(s.sections[1], true, " Bo was here."); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 15*time.Second, ana, bo)
	ana.must("wait for Bo's cursor", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(`.remote-caret[data-name="Bo Chen"]`)))

	checkAxe(t, "editing view", runAxe(t, ana, string(script)))

	ana.must("open the reading view", 15*time.Second,
		chromedp.Navigate(s.readingURL()),
		chromedp.WaitVisible(chromedp.CSS("nav.toc")),
	)
	checkAxe(t, "reading view", runAxe(t, ana, string(script)))
}
