package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPromptIsPlaceholder: a template section's prompt shows in its empty
// editor as a placeholder, is not text of the document, and goes away
// once someone types.
func TestPromptIsPlaceholder(t *testing.T) {
	s := newServer(t)
	b := s.memberBrowser(t, "Ana Silva")
	b.openEditor(s)
	sel := `[data-section="issues"] .cm-placeholder`
	b.must("see the prompt", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(sel)))
	shown, err := eval[string](b, `document.querySelector('`+sel+`').textContent`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown, "What is the issue") {
		t.Errorf("placeholder of section 1: got %q; want the template's prompt", shown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	texts, err := s.texts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if texts["issues"] != "" {
		t.Errorf("server text of an untouched section: got %q; want none", texts["issues"])
	}
	if err := b.typeAt("issues", true, "Ransomware."); err != nil {
		t.Fatal(err)
	}
	b.must("the prompt goes away", 10*time.Second, chromedp.WaitNotPresent(chromedp.CSS(sel)))
	if got := converged(t, s, 15*time.Second, b)["issues"]; got != "Ransomware." {
		t.Errorf("server text after typing: got %q; want %q", got, "Ransomware.")
	}
}
