package comments

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

// benchDoc returns a document of 20 sections of 12 paragraphs of prose
// (about 2,000 words a section) and a set of 1,000 anchors: when spread,
// 50 in each section (40 quotes, 6 paragraphs, 4 sections), else all in
// the first section (quotes and paragraphs).
func benchDoc(b *testing.B, spread bool) (*editor.Document, *Anchors) {
	r := rand.New(rand.NewPCG(1, 2))
	prose := []string{"forum", "policy", "the", "multistakeholder", "access", "of", "and", "cybersecurity", "norms", "data", "gender", "evidence", "community", "IGF", "é", "漢字"}
	var texts []string
	for range 20 {
		var paras []string
		for range 12 {
			var w []string
			for range 30 {
				w = append(w, prose[r.IntN(len(prose))])
			}
			paras = append(paras, strings.Join(w, " ")+".")
		}
		texts = append(texts, strings.Join(paras, "\n\n"))
	}
	d := newDoc(texts...)
	s := NewAnchors(d.Seq)
	n := 0
	add := func(a Anchor, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Add(fmt.Sprintf("c%d", n), a); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for n < 1000 {
		sec := &d.Sections[0]
		if spread {
			sec = &d.Sections[n%20]
		}
		switch k := n / 20 % 25; {
		case spread && k < 2:
			add(NewSectionAnchor(d, sec.ID))
		case k < 5:
			add(NewParagraphAnchor(d, sec.ID, sec.Paras[r.IntN(len(sec.Paras))]))
		default:
			spans := spansOf(sec.Text)
			i := r.IntN(len(spans))
			// A few words from the middle of the paragraph, never its
			// last one, where the benchmark types.
			start := spans[i].u0 + r.IntN(50)
			end := start + 10 + r.IntN(30)
			add(NewQuoteAnchor(d, sec.ID, sec.Paras[i], start, end))
		}
	}
	return d, s
}

// BenchmarkMapTyping maps 1,000 anchors over one typing update: a letter
// typed at the end of a paragraph of the first section, then deleted,
// alternately. ns/update is the time of one update.
func BenchmarkMapTyping(b *testing.B) {
	for _, bc := range []struct {
		name           string
		spread, inside bool
		document       bool
	}{
		{name: "spread"},
		{name: "spread-with-document", document: true},
		{name: "one-section"},
		{name: "spread-inside-quote", inside: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, s := benchDoc(b, bc.name != "one-section")
			sec := d.Sections[0]
			at := editor.UTF16Len(sec.Text[:editor.Paragraphs(sec.Text)[3].End])
			if bc.inside {
				a, _ := s.Get("c100") // a quote of the first section
				if a.Kind() != KindQuote || a.Section != sec.ID {
					b.Fatalf("c100 is %+v", a)
				}
				at = (a.Start + a.End) / 2
			}
			if bc.document {
				typed := textStep(b, d, sec.ID, editor.Change{From: at, To: at, Insert: "a"})
				n := editor.UTF16Len(sec.Text)
				del, _ := editor.ChangeSetOf([]editor.Change{{From: at, To: at + 1}}, n+1)
				undo := editor.Step{Section: sec.ID, Changes: del}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					st := typed
					if i%2 == 1 {
						st = undo
					}
					if _, err := s.Apply(d, st); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/update")
				return
			}
			// Two documents, before and after the letter, and the steps
			// between them, so that only the anchors' work is timed.
			typed := textStep(b, d, sec.ID, editor.Change{From: at, To: at, Insert: "a"})
			after := d.Clone()
			if _, err := after.Apply(typed); err != nil {
				b.Fatal(err)
			}
			inv, err := typed.Changes.Invert(sec.Text)
			if err != nil {
				b.Fatal(err)
			}
			forth := TextStep{Section: sec.ID, Before: sec, Changes: typed.Changes}
			back := TextStep{Section: sec.ID, Before: *after.Section(sec.ID), Changes: inv}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if i%2 == 0 {
					err = s.MapText(after, forth)
				} else {
					err = s.MapText(d, back)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/update")
		})
	}
}
