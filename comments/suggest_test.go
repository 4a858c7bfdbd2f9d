package comments

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

func TestMerge(t *testing.T) {
	orig := "Small firms need cheap security advice that they can follow without help."
	sugg := "Small firms need affordable security advice that they can follow without help."
	for _, tc := range []struct {
		name, current, want string
		ok                  bool
	}{
		{"unchanged", orig, sugg, true},
		{"typed before", "Many small firms need cheap security advice that they can follow without help.", "Many small firms need affordable security advice that they can follow without help.", true},
		{"typed after", orig + " See annex 2.", sugg + " See annex 2.", true},
		{"the suggested word rewritten", "Small firms need free and simple advice that they can follow without help.", "", false},
		{"everything rewritten", "Nothing in common here at all, not one word of it.", "", false},
	} {
		got, ok := Merge(orig, sugg, tc.current)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCheckSuggestion(t *testing.T) {
	for _, tc := range []struct{ orig, sugg string }{
		{"same", "same"},
		{"a", "bad\x00byte"},
		{"a", strings.Repeat("x", MaxSuggestionRunes+1)},
		{"a", "\xff"},
	} {
		if _, err := CheckSuggestion(tc.orig, tc.sugg); !errors.Is(err, editor.ErrInvalid) {
			t.Errorf("CheckSuggestion(%q, %.20q) = %v; want ErrInvalid", tc.orig, tc.sugg, err)
		}
	}
	if s, err := CheckSuggestion("a", "line\r\nbreak"); err != nil || s != "line\nbreak" {
		t.Errorf("line breaks: %q, %v", s, err)
	}
	if s, err := CheckSuggestion("delete me", ""); err != nil || s != "" {
		t.Errorf("a deletion: %q, %v", s, err)
	}
}

func TestRedline(t *testing.T) {
	got := Redline("cheap <advice>", "affordable <advice>")
	if got != "<del>cheap</del><ins>affordable</ins> &lt;advice&gt;" {
		t.Fatalf("Redline = %q", got)
	}
}

// TestMergeProperties: a suggestion replaces one word of a paragraph;
// then the team edits the paragraph at random. Edits far from the word
// leave its context: the merge succeeds and gives the edited text with
// the word replaced. Edits that remove the word report a conflict (or,
// where the word's context lets go-diff place it, replace it where it
// stands): never the suggestion applied somewhere wrong.
func TestMergeProperties(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	vocab := strings.Fields("the forum heard from civil society business government and the technical community on how small firms protect their networks and data online")
	runs := 2000
	if testing.Short() {
		runs = 200
	}
	for range runs {
		words := make([]string, 30+rng.IntN(30))
		for i := range words {
			words[i] = vocab[rng.IntN(len(vocab))]
		}
		k := 10 + rng.IntN(len(words)-20)
		words[k] = "TARGET"
		orig := strings.Join(words, " ")
		sugg := strings.Replace(orig, "TARGET", "REPLACED", 1)
		// Far edits: insert and delete words at least 5 words away.
		cur := slicesClone(words)
		for e := 0; e < 1+rng.IntN(4); e++ {
			i := rng.IntN(len(cur))
			if j := indexOf(cur, "TARGET"); abs(i-j) < 5 {
				continue
			}
			if rng.IntN(2) == 0 {
				cur = append(cur[:i], append([]string{vocab[rng.IntN(len(vocab))]}, cur[i:]...)...)
			} else {
				cur = append(cur[:i], cur[i+1:]...)
			}
		}
		current := strings.Join(cur, " ")
		got, ok := Merge(orig, sugg, current)
		want := strings.Replace(current, "TARGET", "REPLACED", 1)
		if !ok || got != want {
			t.Fatalf("seed %d: far edits: Merge(%q, %q, %q) = %q, %v; want %q", seed, orig, sugg, current, got, ok, want)
		}
		// The word itself gone: a conflict, or the word replaced nowhere.
		gone := strings.Replace(current, "TARGET", "", 1)
		if got, ok := Merge(orig, sugg, gone); ok && strings.Contains(got, "REPLACED") {
			t.Fatalf("seed %d: the word is gone, yet the suggestion was placed: %q", seed, got)
		}
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func indexOf(s []string, w string) int {
	for i, x := range s {
		if x == w {
			return i
		}
	}
	return -1
}

// TestChangesBetween: the changes found turn a into b, for random texts
// (emoji and all).
func TestChangesBetween(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	words := []string{"alpha", "beta", "😀", "漢字", "gamma", "\n\n", " ", "delta"}
	gen := func() string {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	for range 500 {
		a, b := gen(), gen()
		cs, err := editor.ChangeSetOf(ChangesBetween(a, b), editor.UTF16Len(a))
		if err != nil {
			t.Fatalf("ChangesBetween(%q, %q): %v", a, b, err)
		}
		got, err := cs.Apply(a)
		if err != nil || got != b {
			t.Fatalf("ChangesBetween(%q, %q) gives %q, %v", a, b, got, err)
		}
	}
}

// TestRedlineParts: the kept and deleted pieces give the old text back,
// the kept and inserted ones the new; a changed word is never cut.
func TestRedlineParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	words := []string{"alpha", "beta", "😀", "漢字", "gamma", "\n\n", " ", ", ", "delta", "security", "advice"}
	gen := func() string {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	for range 500 {
		a, b := gen(), gen()
		var old, new strings.Builder
		for _, p := range RedlineParts(a, b) {
			if p.Op != "+" {
				old.WriteString(p.Text)
			}
			if p.Op != "-" {
				new.WriteString(p.Text)
			}
		}
		if old.String() != a || new.String() != b {
			t.Fatalf("RedlineParts(%q, %q) gives %q and %q", a, b, old.String(), new.String())
		}
	}
	got := fmt.Sprint(RedlineParts("security advice", "cybersecurity guidance"))
	if got != "[{- security advice} {+ cybersecurity guidance}]" {
		t.Fatalf("whole words: %s", got)
	}
}
