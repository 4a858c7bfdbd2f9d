package authority

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/editor/editortest"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestTextAt: the text a history rebuilds at any of its versions, by
// composing the inverses of the updates after it, is the text that was
// there, over random histories of random edits (emoji and other
// multi-unit characters included).
func TestTextAt(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	runs := 300
	if testing.Short() {
		runs = 50
	}
	for run := range runs {
		text := "Start: café 😀 "
		h := &history{base: 3}
		texts := []string{text} // texts[i] is the text at version base+i
		for range 1 + rng.IntN(60) {
			cs, err := editor.ChangeSetOf(editortest.RandomEdit(rng, text), editor.UTF16Len(text))
			if err != nil {
				t.Fatal(err)
			}
			inv, err := cs.Invert(text)
			if err != nil {
				t.Fatal(err)
			}
			next, err := cs.Apply(text)
			if err != nil {
				t.Fatal(err)
			}
			h.push(editor.Update{Changes: cs}, inverse{cs: inv, ok: true})
			text = next
			texts = append(texts, text)
		}
		for i, want := range texts {
			got, ok := h.textAt(text, h.base+i)
			if !ok {
				t.Fatalf("run %d: version %d cannot be rebuilt", run, h.base+i)
			}
			if got.String() != want {
				t.Fatalf("run %d: text at version %d = %q; want %q", run, h.base+i, got.String(), want)
			}
		}
		// An unknown inverse on the way: not rebuilt.
		if len(h.inv) > 1 {
			h.inv[len(h.inv)/2].ok = false
			if _, ok := h.textAt(text, h.base); ok {
				t.Fatalf("run %d: rebuilt across an unknown inverse", run)
			}
		}
	}
}

// BenchmarkTextAt: rebuilding a 100 KB section 200 and 5,000 updates back
// (a client that far behind), each update a keystroke somewhere in it.
func BenchmarkTextAt(b *testing.B) {
	for _, back := range []int{200, 5000} {
		b.Run(fmt.Sprint(back), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2300)
			h := &history{}
			for range back {
				n := editor.UTF16Len(text)
				at := rng.IntN(n + 1)
				cs, _ := editor.ChangeSetOf([]editor.Change{{From: at, To: at, Insert: "x"}}, n)
				inv, _ := cs.Invert(text)
				text, _ = cs.Apply(text)
				h.push(editor.Update{Changes: cs}, inverse{cs: inv, ok: true})
			}
			b.ResetTimer()
			for range b.N {
				if _, ok := h.textAt(text, 0); !ok {
					b.Fatal("not rebuilt")
				}
			}
		})
	}
}
