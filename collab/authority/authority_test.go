package authority

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var testCfg = Config{MaxSectionUnits: 1 << 16, MaxDocumentUnits: 1 << 18, MaxParagraphs: 1000, RecentPerSection: 1000}

func newDoc(t testing.TB) *editor.Document {
	t.Helper()
	tmpl, err := editor.LookupTemplate("bpf-output")
	if err != nil {
		t.Fatal(err)
	}
	doc := tmpl.NewDocument("doc-1", "Authority", t0)
	for i := range doc.Sections {
		doc.Sections[i].Text, doc.Sections[i].Paras = "", nil
	}
	return doc
}

func newAuthority(t testing.TB, cfg Config) *Authority {
	t.Helper()
	a, err := New(cfg, newDoc(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// cs makes a change set from "insert s at pos" on a text of length n.
func cs(t testing.TB, n, pos int, del int, s string) editor.ChangeSet {
	t.Helper()
	c, err := editor.ChangeSetOf([]editor.Change{{From: pos, To: pos + del, Insert: s}}, n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func check(s string) *uint32 { c := editor.Checksum(s); return &c }

func author(c string) Author {
	return Author{Client: c, Name: "Name of " + c, Role: access.CoFacilitator}
}

// commit stores the batch in log (as a store would) and settles it.
func commit(t testing.TB, a *Authority, log *[]store.Update) Settled {
	t.Helper()
	expect, ups := a.Take()
	if len(ups) == 0 {
		t.Fatal("nothing to take")
	}
	if head := int64(len(*log)); expect != head {
		t.Fatalf("Take expects seq %d; the log is at %d", expect, head)
	}
	*log = append(*log, ups...)
	return a.Settle(true)
}

func refusalCode(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

func TestPushRefusals(t *testing.T) {
	a := newAuthority(t, Config{MaxSectionUnits: 50, MaxDocumentUnits: 80, MaxParagraphs: 1000, RecentPerSection: 2})
	var log []store.Update
	// Three accepted updates of "issues", so that versions 0 and 1 fall out
	// of what is kept (RecentPerSection 2).
	text := ""
	for i, s := range []string{"abc", "def", "ghi"} {
		if _, err := a.Do(Push{Author: author("writer"), Section: "issues", Base: i, Check: check(text + s), Updates: []editor.ChangeSet{cs(t, len(text), len(text), 0, s)}, Time: t0}); err != nil {
			t.Fatal(err)
		}
		commit(t, a, &log)
		text += s
	}
	for _, tc := range []struct {
		name string
		push Push
		code string
	}{
		{"no author", Push{Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, wire.CodeForbidden},
		{"no client", Push{Author: Author{Role: access.Secretariat}, Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, CodeInvalid},
		{"a reader", Push{Author: Author{Client: "r", Role: access.Public}, Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, wire.CodeForbidden},
		{"unknown section", Push{Author: author("w"), Section: "nope", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "x")}}, wire.CodeUnknownSection},
		{"no updates", Push{Author: author("w"), Section: "issues", Base: 3}, wire.CodeBadMessage},
		{"future", Push{Author: author("w"), Section: "issues", Base: 4, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, wire.CodeFutureVersion},
		{"negative", Push{Author: author("w"), Section: "issues", Base: -1, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, wire.CodeFutureVersion},
		{"too old", Push{Author: author("w"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "x")}}, wire.CodeTooOld},
		{"wrong length", Push{Author: author("w"), Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 8, 0, 0, "x")}}, wire.CodeBadChanges},
		{"not chained", Push{Author: author("w"), Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x"), cs(t, 9, 0, 0, "y")}}, wire.CodeBadChanges},
		{"diverged", Push{Author: author("w"), Section: "issues", Base: 2, Check: check("xabcdeF"), Updates: []editor.ChangeSet{cs(t, 6, 0, 0, "x")}}, wire.CodeDiverged},
		{"diverged at the current version", Push{Author: author("w"), Section: "issues", Base: 3, Check: check("xabcdefgh"), Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "x")}}, wire.CodeDiverged},
		{"section too large", Push{Author: author("w"), Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, strings.Repeat("x", 42))}}, wire.CodeTooLarge},
		{"document too large", Push{Author: author("w"), Section: "methodology", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, strings.Repeat("x", 40)), cs(t, 40, 0, 0, strings.Repeat("y", 40))}}, wire.CodeTooLarge},
		// All or nothing: the second update splits the emoji the first
		// inserted; the first is not kept either.
		{"later update invalid", Push{Author: author("w"), Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 9, 0, 0, "😀"), cs(t, 11, 1, 0, "x")}}, wire.CodeBadChanges},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.work.Clone()
			tk, err := a.Do(tc.push)
			if got := refusalCode(err); got != tc.code || tk != NoTicket {
				t.Fatalf("Do = %d, %v; want a refusal %s", tk, err, tc.code)
			}
			bj, _ := json.Marshal(before)
			aj, _ := json.Marshal(a.work)
			if string(bj) != string(aj) || a.Pending() != 0 {
				t.Fatalf("a refused push changed the document:\n%s\n%s", bj, aj)
			}
			if h := a.sections["issues"]; len(h.inv) != len(h.recent) || h.base+len(h.recent) != a.work.Section("issues").Version {
				t.Fatalf("history out of step: %d inverses for %d updates from %d", len(h.inv), len(h.recent), h.base)
			}
		})
	}
	// A push at the oldest kept version with the right check is rebased.
	tk, err := a.Do(Push{Author: author("late"), Section: "issues", Base: 1, Check: check("a!bc"), Updates: []editor.ChangeSet{cs(t, 3, 1, 0, "!")}, Time: t0})
	if err != nil || tk == NoTicket {
		t.Fatalf("push at the oldest kept version: %v", err)
	}
	commit(t, a, &log)
	if got := a.Durable().Section("issues").Text; got != "a!bcdefghi" {
		t.Fatalf("text %q; want the late push rebased to a!bcdefghi", got)
	}
}

// TestDuplicatesDropped: a push repeated after a lost confirmation (the
// same updates at the same base) is not applied twice, whether the first
// is durable or still in the batch; a push extending it applies only what
// is new.
func TestDuplicatesDropped(t *testing.T) {
	for _, durable := range []bool{true, false} {
		a := newAuthority(t, testCfg)
		var log []store.Update
		u1, u2 := cs(t, 0, 0, 0, "Hello"), cs(t, 5, 5, 0, " world")
		if _, err := a.Do(Push{Author: author("w1"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{u1}}); err != nil {
			t.Fatal(err)
		}
		// Someone else types meanwhile.
		if _, err := a.Do(Push{Author: author("w2"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, ">")}}); err != nil {
			t.Fatal(err)
		}
		if durable {
			commit(t, a, &log)
		}
		tk, err := a.Do(Push{Author: author("w1"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{u1}})
		if err != nil || tk != NoTicket {
			t.Fatalf("resent push: ticket %d, %v; want nothing to do", tk, err)
		}
		if _, err := a.Do(Push{Author: author("w1"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{u1, u2}}); err != nil {
			t.Fatal(err)
		}
		commit(t, a, &log)
		if got := a.Durable().Section("issues").Text; got != "Hello> world" {
			t.Fatalf("durable %v: text %q; want Hello> world (each update once)", durable, got)
		}
		if n := len(log); n != 3 {
			t.Fatalf("durable %v: %d updates logged; want 3", durable, n)
		}
	}
}

// TestBatchIsNotDurable: the durable document and Since never show the
// batch; a failed append drops it and everything accepted after it.
func TestBatchIsNotDurable(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "durable")}}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	t1, _ := a.Do(Push{Author: author("w"), Section: "issues", Base: 1, Updates: []editor.ChangeSet{cs(t, 7, 7, 0, " one")}})
	expect, ups := a.Take()
	if expect != 1 || len(ups) != 1 || ups[0].Seq != 2 {
		t.Fatalf("Take = %d, %+v", expect, ups)
	}
	// Accepted while the first batch is out: it goes in the next.
	t2, err := a.Do(AddSection{Author: author("api"), Title: "Annex", Text: "a\r\nb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, more := a.Take(); more != nil {
		t.Fatal("Take handed out a second batch while one was out")
	}
	if d := a.Durable(); d.Seq != 1 || d.Section("issues").Text != "durable" || len(d.Sections) != 10 {
		t.Fatalf("durable document shows the batch: seq %d", d.Seq)
	}
	if _, _, ok := a.Since("issues", 2); ok {
		t.Fatal("Since offers a version that is not durable")
	}
	out := a.Settle(false)
	if len(out.Updates) != 0 || len(out.Outcomes) != 2 || out.Outcomes[0].Ticket != t1 || out.Outcomes[1].Ticket != t2 ||
		!errors.Is(out.Outcomes[0].Err, ErrNotStored) || !errors.Is(out.Outcomes[1].Err, ErrNotStored) {
		t.Fatalf("Settle(false) = %+v", out)
	}
	if a.Pending() != 0 || a.work.Seq != 1 || len(a.work.Sections) != 10 || a.work.Section("issues").Text != "durable" {
		t.Fatalf("after a failed append the working document is not the durable one")
	}
	// It goes on from the durable state.
	if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: 1, Check: check("still durable"), Updates: []editor.ChangeSet{cs(t, 7, 0, 0, "still ")}}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	if got := a.Durable().Section("issues").Text; got != "still durable" {
		t.Fatalf("text %q", got)
	}
}

// TestSettleInOrder: batches settle in order; the section added in the
// second is reported with its text normalised.
func TestSettleInOrder(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	t1, _ := a.Do(Push{Author: author("w"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "x")}})
	expect, ups := a.Take()
	t2, _ := a.Do(AddSection{Author: author("api"), Title: " Annex ", Text: "a\r\nb\rc"})
	log = append(log, ups...)
	if expect != 0 {
		t.Fatal(expect)
	}
	s1 := a.Settle(true)
	if len(s1.Outcomes) != 1 || s1.Outcomes[0].Ticket != t1 || s1.Outcomes[0].First != 1 || a.Durable().Seq != 1 {
		t.Fatalf("first settle %+v", s1)
	}
	s2 := commit(t, a, &log)
	o := s2.Outcomes[0]
	if o.Ticket != t2 || o.First != 2 || o.Added == nil || o.Added.Text != "a\nb\nc" || o.Added.Title != "Annex" || o.Added.ID != "custom-1" {
		t.Fatalf("second settle %+v", o)
	}
	if s2.Updates[0].Out.Structure == nil || s2.Updates[0].Log.Kind != store.KindStructure {
		t.Fatalf("structure update %+v", s2.Updates[0])
	}
	// The new section can be edited at version 0, checked against its text.
	if _, err := a.Do(Push{Author: author("w"), Section: "custom-1", Base: 0, Check: check("a\nb\nc!"), Updates: []editor.ChangeSet{cs(t, 5, 5, 0, "!")}}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	// The log replays to the same document.
	b, err := New(testCfg, newDoc(t), log)
	if err != nil {
		t.Fatal(err)
	}
	bj, _ := json.Marshal(b.Durable())
	aj, _ := json.Marshal(a.Durable())
	if string(aj) != string(bj) {
		t.Fatalf("replay differs:\n%s\n%s", aj, bj)
	}
}

// TestRestartKeepsHistory: after a restart from a snapshot, pushes made at
// versions before the snapshot are still rebased (the log before the
// snapshot fills the histories) and checked.
func TestRestartKeepsHistory(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	text := ""
	for i := range 6 {
		s := string(rune('a' + i))
		if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: i, Updates: []editor.ChangeSet{cs(t, i, i, 0, s)}}); err != nil {
			t.Fatal(err)
		}
		commit(t, a, &log)
		text += s
	}
	snap := a.Durable().Clone() // a snapshot at seq 6, the log keeping all
	b, err := New(testCfg, snap, log)
	if err != nil {
		t.Fatal(err)
	}
	// A client still at version 2 ("ab") pushes.
	if _, err := b.Do(Push{Author: author("slow"), Section: "issues", Base: 2, Check: check("a-b"), Updates: []editor.ChangeSet{cs(t, 2, 1, 0, "-")}}); err != nil {
		t.Fatalf("a push from before the snapshot was refused after a restart: %v", err)
	}
	commit(t, b, &log)
	if got := b.Durable().Section("issues").Text; got != "a-bcdef" {
		t.Fatalf("text %q; want a-bcdef", got)
	}
	// Its check is verified too.
	_, err = b.Do(Push{Author: author("slow2"), Section: "issues", Base: 2, Check: check("a-X"), Updates: []editor.ChangeSet{cs(t, 2, 1, 0, "-")}})
	if refusalCode(err) != wire.CodeDiverged {
		t.Fatalf("wrong check at a version before the snapshot: %v; want diverged", err)
	}
	// Replay proves each text with the logged check.
	bad := append([]store.Update(nil), log...)
	c := *bad[6].Check + 1
	bad[6].Check = &c
	if _, err := New(testCfg, newDoc(t), bad); err == nil || !strings.Contains(err.Error(), "does not give the text") {
		t.Fatalf("replay with a wrong check: %v", err)
	}
	// A log without inverses (written before they were kept) still
	// rebases, but a check on a version before it cannot be verified.
	old := append([]store.Update(nil), log[:6]...)
	for i := range old {
		old[i].Inverse = nil
	}
	c2, err := New(testCfg, snap, old)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Do(Push{Author: author("slow3"), Section: "issues", Base: 2, Check: check("a-b"), Updates: []editor.ChangeSet{cs(t, 2, 1, 0, "-")}})
	if refusalCode(err) != wire.CodeTooOld {
		t.Fatalf("check against a version that cannot be rebuilt: %v; want too_old", err)
	}
}

// TestAbsorbRebasesTheBatch: updates another writer appended are taken in,
// and the batch is done again on top of them, renumbered.
func TestAbsorbRebasesTheBatch(t *testing.T) {
	a := newAuthority(t, testCfg)
	b := newAuthority(t, testCfg) // another node on the same log
	var log []store.Update
	if _, err := a.Do(Push{Author: author("on-a"), Section: "issues", Base: 0, Check: check("A"), Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "A")}}); err != nil {
		t.Fatal(err)
	}
	ta, _ := a.Do(Push{Author: author("on-a"), Section: "issues", Base: 0, Check: check("Aa"), Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "A"), cs(t, 1, 1, 0, "a")}})
	expect, _ := a.Take()
	// b commits first.
	if _, err := b.Do(Push{Author: author("on-b"), Section: "issues", Base: 0, Check: check("B"), Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "B")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Do(AddSection{Author: author("api-b"), Title: "From B", Text: "b"}); err != nil {
		t.Fatal(err)
	}
	commit(t, b, &log)
	if int64(len(log)) == expect {
		t.Fatal("no conflict")
	}
	out, err := a.Absorb(log[expect:])
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Updates) != 2 || out.Updates[0].Out.Client != "on-b" || out.Updates[1].Out.Structure == nil || len(out.Outcomes) != 0 {
		t.Fatalf("Absorb = %+v", out)
	}
	if a.Durable().Seq != 2 || len(a.Durable().Sections) != 11 {
		t.Fatalf("durable after absorb: seq %d", a.Durable().Seq)
	}
	s := commit(t, a, &log)
	if len(s.Outcomes) != 2 || s.Outcomes[1].Ticket != ta || s.Outcomes[0].First != 3 {
		t.Fatalf("settle after absorb %+v", s.Outcomes)
	}
	want := a.Durable().Section("issues").Text
	if want != "AaB" && want != "BAa" {
		t.Fatalf("text %q", want)
	}
	// b takes in a's updates the same way and agrees.
	if _, err := b.Absorb(log[b.Durable().Seq:]); err != nil {
		t.Fatal(err)
	}
	aj, _ := json.Marshal(a.Durable())
	bj, _ := json.Marshal(b.Durable())
	if string(aj) != string(bj) {
		t.Fatalf("the nodes disagree:\n%s\n%s", aj, bj)
	}
	// A foreign log that does not apply is an error, and the waiting
	// commands end.
	tk, _ := a.Do(Push{Author: author("on-a"), Section: "issues", Base: 3, Updates: []editor.ChangeSet{cs(t, 3, 0, 0, "z")}})
	broken := store.Update{Seq: a.Durable().Seq + 1, Section: "issues", Version: 4, ClientID: "x", Changes: json.RawMessage(`[99,[0,"q"]]`)}
	out, err = a.Absorb([]store.Update{broken})
	if err == nil || len(out.Outcomes) != 1 || out.Outcomes[0].Ticket != tk || !errors.Is(out.Outcomes[0].Err, ErrNotStored) {
		t.Fatalf("Absorb of a broken update = %+v, %v", out, err)
	}
}

// TestAbsorbEndsWhatCannotBeRedone: a push that no longer fits after the
// foreign updates ends with its refusal; one whose updates the other node
// already took (the same client went there) ends with nothing to do.
func TestAbsorbEndsWhatCannotBeRedone(t *testing.T) {
	cfg := Config{MaxSectionUnits: 10, MaxDocumentUnits: 100, MaxParagraphs: 1000, RecentPerSection: 100}
	a, b := newAuthority(t, cfg), newAuthority(t, cfg)
	var log []store.Update
	big, _ := a.Do(Push{Author: author("c1"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "123456")}})
	dup, _ := a.Do(Push{Author: author("c2"), Section: "methodology", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "m")}})
	a.Take()
	b.Do(Push{Author: author("c3"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "abcdef")}})
	b.Do(Push{Author: author("c2"), Section: "methodology", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "m")}})
	commit(t, b, &log)
	out, err := a.Absorb(log)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Outcomes) != 2 || out.Outcomes[0].Ticket != big || refusalCode(out.Outcomes[0].Err) != wire.CodeTooLarge ||
		out.Outcomes[1].Ticket != dup || out.Outcomes[1].Err != nil || out.Outcomes[1].First != 0 {
		t.Fatalf("outcomes %+v", out.Outcomes)
	}
	if a.Pending() != 0 {
		t.Fatalf("%d updates still pending", a.Pending())
	}
}

func TestSinceMapsDurableVersions(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	a.Do(Push{Author: author("w"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "hello")}})
	commit(t, a, &log)
	a.Do(Push{Author: author("w"), Section: "issues", Base: 1, Updates: []editor.ChangeSet{cs(t, 5, 0, 0, ">> ")}})
	commit(t, a, &log)
	over, n, ok := a.Since("issues", 1)
	if !ok || n != 5 || len(over) != 1 {
		t.Fatalf("Since(1) = %v, %d, %v", over, n, ok)
	}
	if pos, _ := over[0].Changes.MapPos(2, -1, editor.MapSimple); pos != 5 {
		t.Fatalf("mapped %d; want 5", pos)
	}
	if over, n, ok := a.Since("issues", 2); !ok || len(over) != 0 || n != 8 {
		t.Fatalf("Since(current) = %v, %d, %v", over, n, ok)
	}
	if _, _, ok := a.Since("nope", 0); ok {
		t.Fatal("Since of an unknown section")
	}
}

// TestParagraphLimit: a push or a new section that would take the
// document over its paragraphs is refused whole; one that adds none is
// taken even in a document already over (made under other limits).
func TestParagraphLimit(t *testing.T) {
	a := newAuthority(t, Config{MaxSectionUnits: 1000, MaxDocumentUnits: 10000, MaxParagraphs: 3, RecentPerSection: 10})
	var log []store.Update
	if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "a\n\nb\n\nc")}}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	_, err := a.Do(Push{Author: author("w"), Section: "methodology", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "x"), cs(t, 1, 1, 0, "y")}})
	var le *editor.LimitError
	if refusalCode(err) != wire.CodeTooLarge || !errors.As(err, &le) || le.Limit != "paragraphs" || a.Pending() != 0 {
		t.Fatalf("a fourth paragraph: %v", err)
	}
	if _, err := a.Do(AddSection{Author: author("api"), Title: "Annex", Text: "more"}); !errors.As(err, &le) {
		t.Fatalf("a section with a fourth paragraph: %v", err)
	}
	// Typing inside a paragraph, or adding an empty section, is fine.
	if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: 1, Updates: []editor.ChangeSet{cs(t, 7, 1, 0, "!")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Do(AddSection{Author: author("api"), Title: "Empty annex"}); err != nil {
		t.Fatal(err)
	}
	// Merging two paragraphs makes room again.
	if _, err := a.Do(Push{Author: author("w"), Section: "issues", Base: 2, Updates: []editor.ChangeSet{cs(t, 8, 2, 2, " ")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Do(Push{Author: author("w"), Section: "methodology", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "x")}}); err != nil {
		t.Fatalf("a paragraph after a merge: %v", err)
	}
}

// TestWorkflowAndPermissions: the stage moves only forward, by the
// Secretariat; each command is checked against the permission matrix in
// the document's stage (a frozen text during public comment, a final
// document read-only), whoever sends it; the log replays to the same.
func TestWorkflowAndPermissions(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	sec := Author{Client: "api:1", Name: "Secretariat", Role: access.Secretariat}
	team := author("writer")
	at := t0
	do := func(cmd Command) error {
		_, err := a.Do(cmd)
		if err == nil && a.Pending() > 0 {
			commit(t, a, &log)
		}
		return err
	}
	stage := func(w editor.Workflow, who Author) error { return do(SetWorkflow{Author: who, Workflow: w, Time: at}) }
	if err := stage(editor.Workflow{Stage: editor.StagePublicComment, Opens: t0, Closes: t0.Add(time.Hour)}, team); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the team changed the stage: %v", err)
	}
	if err := stage(editor.Workflow{Stage: editor.StageRevision}, sec); refusalCode(err) != CodeInvalid {
		t.Fatalf("drafting straight to revision: %v", err)
	}
	if err := stage(editor.Workflow{Stage: editor.StagePublicComment, Opens: t0.Add(time.Hour), Closes: t0}, sec); refusalCode(err) != CodeInvalid {
		t.Fatalf("a window closing before it opens: %v", err)
	}
	if err := do(Push{Author: team, Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, "draft")}, Time: at}); err != nil {
		t.Fatal(err)
	}
	if err := stage(editor.Workflow{Stage: editor.StagePublicComment, Opens: t0, Closes: t0.Add(time.Hour), Frozen: true}, sec); err != nil {
		t.Fatal(err)
	}
	w := a.Durable().Workflow
	if w.Stage != editor.StagePublicComment || w.Published != a.Durable().Seq || !w.Since.Equal(at) {
		t.Fatalf("workflow %+v at seq %d", w, a.Durable().Seq)
	}
	// Frozen: the team may not edit; the Secretariat may.
	if err := do(Push{Author: team, Section: "issues", Base: 1, Updates: []editor.ChangeSet{cs(t, 5, 5, 0, "!")}, Time: at}); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the team edited a frozen text: %v", err)
	}
	if err := do(Push{Author: sec, Section: "issues", Base: 1, Updates: []editor.ChangeSet{cs(t, 5, 5, 0, "!")}, Time: at}); err != nil {
		t.Fatalf("the Secretariat could not edit a frozen text: %v", err)
	}
	// Unfrozen, then revision, then final: read-only for everyone.
	for _, st := range []editor.Workflow{{Stage: editor.StagePublicComment, Opens: t0, Closes: t0.Add(time.Hour)}, {Stage: editor.StageRevision}, {Stage: editor.StageFinal}} {
		if err := stage(st, sec); err != nil {
			t.Fatalf("%s: %v", st.Stage, err)
		}
	}
	if err := do(Push{Author: team, Section: "issues", Base: 2, Updates: []editor.ChangeSet{cs(t, 6, 0, 0, "x")}, Time: at}); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the team edited the final output: %v", err)
	}
	// The Secretariat corrects the final output (published as a new
	// version only when it says so).
	published := a.Durable().Workflow.Published
	if err := do(Push{Author: sec, Section: "issues", Base: 2, Updates: []editor.ChangeSet{cs(t, 6, 0, 0, "x")}, Time: at}); err != nil {
		t.Fatalf("the Secretariat could not correct the final output: %v", err)
	}
	if got := a.Durable().Workflow.Published; got != published {
		t.Fatalf("a correction published itself: %d, was %d", got, published)
	}
	for _, who := range []Author{team, sec} {
		if err := do(AddSection{Author: who, Title: "Late annex", Time: at}); refusalCode(err) != wire.CodeForbidden {
			t.Fatalf("%s added a section to the final output: %v", who.Role, err)
		}
	}
	if err := stage(editor.Workflow{Stage: editor.StageFinal, Republish: true}, team); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the team published a correction: %v", err)
	}
	if err := stage(editor.Workflow{Stage: editor.StageFinal, Republish: true}, sec); err != nil {
		t.Fatalf("publishing the correction: %v", err)
	}
	if w := a.Durable().Workflow; w.Published != a.Durable().Seq || w.Republish || w.Published == published {
		t.Fatalf("after the correction: %+v at seq %d (was published at %d)", w, a.Durable().Seq, published)
	}
	if err := stage(editor.Workflow{Stage: editor.StageDrafting}, sec); refusalCode(err) != CodeInvalid {
		t.Fatalf("back from final: %v", err)
	}
	b, err := New(testCfg, newDoc(t), log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Durable().Workflow, a.Durable().Workflow; got != want {
		t.Fatalf("replayed workflow %+v; live %+v", got, want)
	}
}

// TestRestructure: renames and moves are accepted for those who may edit
// structure, refused (changing nothing) for others and for the
// template's sections; a removed section refuses pushes.
func TestRestructure(t *testing.T) {
	a := newAuthority(t, testCfg)
	var log []store.Update
	if _, err := a.Do(AddSection{Author: author("api"), Title: "Annex", Text: "Annex text."}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	public := Author{Client: "p", Role: access.Public}
	before := a.Durable().Seq
	if _, err := a.Do(Restructure{Author: public, Structure: editor.Structure{Op: editor.OpRenameDocument, Title: "Mine"}}); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the public renames: %v", err)
	}
	if _, err := a.Do(Restructure{Author: author("api"), Structure: editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: "issues"}}}); refusalCode(err) != CodeInvalid {
		t.Fatalf("a template section removed: %v", err)
	}
	if a.Pending() != 0 || a.Durable().Seq != before {
		t.Fatal("refusals changed something")
	}
	if _, err := a.Do(Restructure{Author: author("api"), Structure: editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: "custom-1"}}}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, &log)
	var sc editor.Structure
	if err := json.Unmarshal(log[len(log)-1].Payload, &sc); err != nil || sc.Section == nil || sc.Section.Text != "Annex text." {
		t.Fatalf("the log keeps %+v, %v; want the removed text", sc.Section, err)
	}
	_, err := a.Do(Push{Author: author("c"), Section: "custom-1", Base: 0, Updates: []editor.ChangeSet{cs(t, 11, 0, 0, "x")}})
	if refusalCode(err) != wire.CodeUnknownSection {
		t.Fatalf("a push to the removed section: %v", err)
	}
}
