package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTwoPeopleTypeAtOnce has two browsers type at the same time into one
// section (one at its start, one at its end) and each into a section of its
// own; both end with the server's text, with every typed word once.
func TestTwoPeopleTypeAtOnce(t *testing.T) {
	s := newServer(t)
	ana := s.memberBrowser(t, "Ana Silva")
	bo := s.memberBrowser(t, "Bo Chen")
	ana.openEditor(s)
	bo.openEditor(s)

	shared, anaOwn, boOwn := s.sections[0], s.sections[1], s.sections[2]

	// Two cursors at one position would interleave the keystrokes of two
	// people letter by letter, which is correct but not checkable word by
	// word; a first sentence gives the two cursors distinct places.
	seed := " Cybersecurity norms differ between regions."
	if err := ana.typeAt(shared, true, seed); err != nil {
		t.Fatalf("%s: typing: %v", ana.name, err)
	}
	before := converged(t, s, 15*time.Second, ana, bo)[shared]

	anaWords, boWords := tokens("ana", 12), tokens("bo", 12)
	anaOwnWords, boOwnWords := tokens("anaown", 8), tokens("boown", 8)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, job := range []struct {
		b          *browser
		atEnd      bool
		words, own []string
		ownSection string
	}{
		{ana, false, anaWords, anaOwnWords, anaOwn},
		{bo, true, boWords, boOwnWords, boOwn},
	} {
		wg.Go(func() {
			b := job.b
			// Alternate between the shared section and one's own, so both
			// kinds of concurrency happen while the other person types.
			for i := 0; i < len(job.words); i += 4 {
				chunk := strings.Join(job.words[i:i+4], " ")
				if job.atEnd {
					chunk = " " + chunk
				} else {
					chunk += " "
				}
				if err := b.typeAt(shared, job.atEnd, chunk); err != nil {
					errs <- fmt.Errorf("%s: typing in %s: %w", b.name, shared, err)
					return
				}
				j := i / 4 * 3
				if j >= len(job.own) {
					continue
				}
				own := " " + strings.Join(job.own[j:min(j+3, len(job.own))], " ")
				if err := b.typeAt(job.ownSection, true, own); err != nil {
					errs <- fmt.Errorf("%s: typing in %s: %w", b.name, job.ownSection, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	texts := converged(t, s, 20*time.Second, ana, bo)
	checkOnce(t, "shared section", texts[shared], append(append([]string{}, anaWords...), boWords...))
	checkOnce(t, "Ana's section", texts[anaOwn], anaOwnWords)
	checkOnce(t, "Bo's section", texts[boOwn], boOwnWords)
	// Ana typed each group of four words at the start, Bo at the end.
	wantShared := before + " " + strings.Join(boWords, " ")
	for i := 0; i < len(anaWords); i += 4 {
		wantShared = strings.Join(anaWords[i:i+4], " ") + " " + wantShared
	}
	if texts[shared] != wantShared {
		t.Errorf("shared section: got %q; want %q", texts[shared], wantShared)
	}
}

// TestRemoteCursorShowsName checks that each person sees the other's
// cursor, labelled with their name, where the other is typing; and saves
// the screenshot of two people editing.
func TestRemoteCursorShowsName(t *testing.T) {
	s := newServer(t)
	ana := s.memberBrowser(t, "Ana Silva")
	bo := s.memberBrowser(t, "Bo Chen")
	ana.openEditor(s)
	bo.openEditor(s)

	first, second := s.sections[0], s.sections[1]
	if err := ana.typeAt(first, true, "Ransomware attacks on hospitals grew in every region we surveyed."); err != nil {
		t.Fatal(err)
	}
	if err := bo.typeAt(second, true, "Regional CERTs share indicators informally"); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 15*time.Second, ana, bo)

	for _, c := range []struct {
		viewer, other *browser
		section       string
	}{{ana, bo, second}, {bo, ana, first}} {
		sel := fmt.Sprintf(`[data-section=%q] .remote-caret[data-name=%q]`, c.section, c.other.name)
		c.viewer.must("wait for "+c.other.name+"'s cursor", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(sel)))
		label, err := eval[string](c.viewer, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
		if err != nil {
			t.Fatal(err)
		}
		if label != c.other.name {
			t.Errorf("%s sees a cursor labelled %q; want %q", c.viewer.name, label, c.other.name)
		}
		who, err := eval[string](c.viewer, `[...document.querySelectorAll("#presence li:not(.person-self) .person-name")].map(e => e.textContent).join(",")`)
		if err != nil {
			t.Fatal(err)
		}
		if who != c.other.name {
			t.Errorf("%s's list of people: got %q; want %q", c.viewer.name, who, c.other.name)
		}
	}

	png := ana.screenshot("editing-two-people")
	if os.Getenv("BPFDRAFT_UPDATE_SCREENSHOT") == "1" {
		path := filepath.Join("..", "docs", "screenshot-editor.png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
