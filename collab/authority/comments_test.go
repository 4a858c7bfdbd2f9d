package authority

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/comments"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

func person(account string, role access.Role) Author {
	return Author{Client: "api:" + account, Name: "Name of " + account, Account: account, Role: role}
}

// commentWorld is a document open for comment, with two paragraphs in
// "issues", and its log.
type commentWorld struct {
	t     *testing.T
	a     *Authority
	start *editor.Document
	log   []store.Update
}

func newCommentWorld(t *testing.T) *commentWorld {
	w := &commentWorld{t: t, a: newAuthority(t, testCfg)}
	w.start = w.a.Durable().Clone()
	team := person("co", access.CoFacilitator)
	text := "First paragraph about safety online.\n\nSecond paragraph."
	w.do(Push{Author: team, Section: "issues", Base: 0, Updates: []editor.ChangeSet{cs(t, 0, 0, 0, text)}, Time: t0})
	w.do(SetWorkflow{Author: person("sec", access.Secretariat), Workflow: editor.Workflow{Stage: editor.StagePublicComment,
		Opens: t0.Add(-time.Hour), Closes: t0.Add(time.Hour)}, Time: t0})
	return w
}

// do accepts a command and stores it; it returns its outcome.
func (w *commentWorld) do(cmd Command) Outcome {
	w.t.Helper()
	tk, err := w.a.Do(cmd)
	if err != nil {
		w.t.Fatalf("%T: %v", cmd, err)
	}
	s := commit(w.t, w.a, &w.log)
	for _, o := range s.Outcomes {
		if o.Ticket == tk {
			return o
		}
	}
	w.t.Fatalf("%T: no outcome", cmd)
	return Outcome{}
}

func (w *commentWorld) issues() editor.Section { return *w.a.Durable().Section("issues") }

// quote targets the first occurrence of s in "issues".
func (w *commentWorld) quote(s string) Target {
	sec := w.issues()
	i := strings.Index(sec.Text, s)
	if i < 0 {
		w.t.Fatalf("no %q in %q", s, sec.Text)
	}
	para := ""
	for k, sp := range editor.Paragraphs(sec.Text) {
		if sp.Start <= i && i < sp.End {
			para = sec.Paras[k]
		}
	}
	return Target{Section: "issues", Para: para, Start: editor.UTF16Offset(sec.Text, i), End: editor.UTF16Offset(sec.Text, i+len(s)), Version: sec.Version, Quote: true}
}

func viewsJSON(t *testing.T, a *Authority) string {
	t.Helper()
	b, err := json.Marshal(a.Comments())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommentsFollowTheText: a comment on a quote stays on its words
// while the team types around them; replies join the thread; a replay
// of the log, from the start or from a snapshot, gives the same comments
// at the same places.
func TestCommentsFollowTheText(t *testing.T) {
	w := newCommentWorld(t)
	public := person("pub", access.Public)
	o := w.do(AddComment{Author: public, ID: "c1", Target: w.quote("safety"), Text: "  Say which kind of safety.\r\n", Time: t0})
	if o.Comment == nil || o.Comment.Text != "Say which kind of safety." || o.Comment.Anchor == nil || o.Comment.Team {
		t.Fatalf("comment %+v", o.Comment)
	}
	snapAt := w.a.Snapshot()()
	sec := w.issues()
	w.do(Push{Author: person("co", access.CoFacilitator), Section: "issues", Base: sec.Version,
		Updates: []editor.ChangeSet{cs(t, editor.UTF16Len(sec.Text), 0, 0, "Very ")}, Time: t0})
	r := w.do(AddComment{Author: person("co", access.CoFacilitator), ID: "r1", Parent: "c1", Text: "We will.", Time: t0})
	if !r.Comment.Team || r.Comment.Parent != "c1" || r.Comment.Anchor != nil {
		t.Fatalf("reply %+v", r.Comment)
	}
	views := w.a.Comments()
	if len(views) != 2 || views[0].Current == nil {
		t.Fatalf("views %+v", views)
	}
	cur := views[0].Current
	text := w.issues().Text
	b0, _ := editor.ByteOffset(text, cur.Start)
	b1, _ := editor.ByteOffset(text, cur.End)
	if cur.State != comments.Anchored || text[b0:b1] != "safety" {
		t.Fatalf("anchor %+v points at %q in %q", cur, text[b0:b1], text)
	}

	// The same from the log alone, and from the snapshot taken after the
	// comment.
	want := viewsJSON(t, w.a)
	fromLog, err := New(testCfg, w.start, w.log)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewsJSON(t, fromLog); got != want {
		t.Fatalf("replayed from the start:\n%s\nlive:\n%s", got, want)
	}
	fromSnap, err := New(testCfg, snapAt, w.log)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewsJSON(t, fromSnap); got != want {
		t.Fatalf("replayed from the snapshot:\n%s\nlive:\n%s", got, want)
	}
	if fromSnap.Durable().Annotations != nil {
		t.Fatal("the document in memory keeps the snapshot's annotations")
	}
}

// TestCommentAtOlderVersion: a quote selected on a version the team has
// typed past since is brought to the current text.
func TestCommentAtOlderVersion(t *testing.T) {
	w := newCommentWorld(t)
	target := w.quote("Second")
	sec := w.issues()
	w.do(Push{Author: person("co", access.CoFacilitator), Section: "issues", Base: sec.Version,
		Updates: []editor.ChangeSet{cs(t, editor.UTF16Len(sec.Text), 0, 0, "Intro. ")}, Time: t0})
	o := w.do(AddComment{Author: person("pub", access.Public), ID: "c1", Target: target, Text: "Why second?", Time: t0})
	if o.Comment.Anchor.Quote.Exact != "Second" {
		t.Fatalf("the quote is %+v", o.Comment.Anchor.Quote)
	}
}

// TestCommentRefusals: every refusal changes nothing.
func TestCommentRefusals(t *testing.T) {
	w := newCommentWorld(t)
	public, other := person("pub", access.Public), person("other", access.Public)
	w.do(AddComment{Author: public, ID: "c1", Target: w.quote("safety"), Text: "Mine.", Time: t0})
	w.do(AddComment{Author: public, ID: "gone", Target: Target{Section: "issues"}, Text: "Withdrawn later.", Time: t0})
	w.do(ChangeComment{Author: public, ID: "gone", Op: CommentWithdraw, Time: t0})
	sec := w.issues()
	for _, tc := range []struct {
		name string
		cmd  Command
		code string
	}{
		{"before the window", AddComment{Author: public, ID: "x", Target: Target{}, Text: "Early.", Time: t0.Add(-time.Hour - time.Second)}, wire.CodeForbidden},
		{"at the window's close", AddComment{Author: public, ID: "x", Target: Target{}, Text: "Late.", Time: t0.Add(time.Hour)}, wire.CodeForbidden},
		{"not signed in", AddComment{Author: Author{Client: "anon", Role: access.Anonymous}, ID: "x", Text: "Hi.", Time: t0}, wire.CodeForbidden},
		{"empty text", AddComment{Author: public, ID: "x", Text: " \n ", Time: t0}, CodeInvalid},
		{"huge text", AddComment{Author: public, ID: "x", Text: strings.Repeat("a", comments.MaxTextRunes+1), Time: t0}, CodeInvalid},
		{"taken id", AddComment{Author: public, ID: "c1", Text: "Again.", Time: t0}, CodeInvalid},
		{"unknown section", AddComment{Author: public, ID: "x", Target: Target{Section: "nope"}, Text: "Hi.", Time: t0}, wire.CodeUnknownSection},
		{"unknown paragraph", AddComment{Author: public, ID: "x", Target: Target{Section: "issues", Para: "p999"}, Text: "Hi.", Time: t0}, CodeInvalid},
		{"a quote outside its paragraph", AddComment{Author: public, ID: "x", Target: Target{Section: "issues", Para: sec.Paras[1], Start: 0, End: 5, Version: sec.Version, Quote: true}, Text: "Hi.", Time: t0}, CodeInvalid},
		{"a quote at a version never reached", AddComment{Author: public, ID: "x", Target: Target{Section: "issues", Para: sec.Paras[0], Start: 0, End: 5, Version: sec.Version + 5, Quote: true}, Text: "Hi.", Time: t0}, wire.CodeTooOld},
		{"reply to nothing", AddComment{Author: public, ID: "x", Parent: "nope", Text: "Hi.", Time: t0}, wire.CodeNotFound},
		{"reply to a withdrawn comment", AddComment{Author: public, ID: "x", Parent: "gone", Text: "Hi.", Time: t0}, CodeCommentGone},
		{"edit another's comment", ChangeComment{Author: other, ID: "c1", Op: CommentEdit, Text: "Theirs.", Time: t0}, wire.CodeForbidden},
		{"withdraw another's comment", ChangeComment{Author: other, ID: "c1", Op: CommentWithdraw, Time: t0}, wire.CodeForbidden},
		{"edit after the window", ChangeComment{Author: public, ID: "c1", Op: CommentEdit, Text: "Later.", Time: t0.Add(2 * time.Hour)}, wire.CodeForbidden},
		{"edit a withdrawn comment", ChangeComment{Author: public, ID: "gone", Op: CommentEdit, Text: "Back.", Time: t0}, CodeCommentGone},
		{"hide as the team", ChangeComment{Author: person("co", access.CoFacilitator), ID: "c1", Op: CommentHide, Reason: "Off topic.", Time: t0}, wire.CodeForbidden},
		{"hide without a reason", ChangeComment{Author: person("sec", access.Secretariat), ID: "c1", Op: CommentHide, Time: t0}, CodeInvalid},
		{"report without a reason", ChangeComment{Author: other, ID: "c1", Op: CommentReport, Time: t0}, CodeInvalid},
		{"unknown comment", ChangeComment{Author: public, ID: "nope", Op: CommentEdit, Text: "x", Time: t0}, wire.CodeNotFound},
	} {
		before := viewsJSON(t, w.a)
		seq := w.a.Durable().Seq
		_, err := w.a.Do(tc.cmd)
		if refusalCode(err) != tc.code {
			t.Errorf("%s: %v; want %s", tc.name, err, tc.code)
		}
		if w.a.Pending() != 0 || w.a.Durable().Seq != seq || viewsJSON(t, w.a) != before {
			t.Fatalf("%s: a refusal changed something", tc.name)
		}
	}
	// Reports: once per person; a moderator hides with a reason.
	w.do(ChangeComment{Author: other, ID: "c1", Op: CommentReport, Reason: "Spam.", Time: t0})
	if _, err := w.a.Do(ChangeComment{Author: other, ID: "c1", Op: CommentReport, Reason: "Spam again.", Time: t0}); refusalCode(err) != CodeInvalid {
		t.Fatalf("a second report: %v", err)
	}
	o := w.do(ChangeComment{Author: person("sec", access.Secretariat), ID: "c1", Op: CommentHide, Reason: "Breaks the Code of Conduct.", Time: t0})
	if !o.Comment.Hidden || len(w.a.CommentReports("c1")) != 1 {
		t.Fatalf("hidden %+v, reports %v", o.Comment, w.a.CommentReports("c1"))
	}
	if _, err := w.a.Do(AddComment{Author: other, ID: "x", Parent: "c1", Text: "Reply.", Time: t0}); refusalCode(err) != CodeCommentGone {
		t.Fatalf("reply to a hidden comment: %v", err)
	}
	// The author edits while the window is open; the old text is kept.
	w.do(AddComment{Author: public, ID: "c3", Target: Target{Section: "issues"}, Text: "Draft.", Time: t0})
	e := w.do(ChangeComment{Author: public, ID: "c3", Op: CommentEdit, Text: "Final.", Time: t0})
	if e.Comment.Text != "Final." || len(e.Comment.Edits) != 1 || e.Comment.Edits[0].Text != "Draft." {
		t.Fatalf("edited %+v", e.Comment)
	}
}

// TestCommentRemovedSectionOrphans: a comment on a custom section that is
// removed is orphaned, never dropped.
func TestCommentRemovedSectionOrphans(t *testing.T) {
	w := newCommentWorld(t)
	w.do(AddSection{Author: person("sec", access.Secretariat), Title: "Annex", Text: "Annex text.", Time: t0})
	w.do(AddComment{Author: person("pub", access.Public), ID: "c1", Target: Target{Section: "custom-1"}, Text: "On the annex.", Time: t0})
	w.do(Restructure{Author: person("sec", access.Secretariat), Structure: editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: "custom-1"}}, Time: t0})
	v := w.a.Comments()
	if len(v) != 1 || v[0].Current == nil || v[0].Current.State != comments.Orphaned {
		t.Fatalf("after the removal: %+v", v)
	}
}

// TestSuggestions: a suggestion made on words is merged into the text as
// it is when accepted (the team typed since), once; a suggestion whose
// words were rewritten is a conflict and changes nothing; accepting with
// changes puts the Secretariat's text; only the Secretariat accepts.
func TestSuggestions(t *testing.T) {
	w := newCommentWorld(t)
	public, sec := person("pub", access.Public), person("sec", access.Secretariat)
	o := w.do(AddComment{Author: public, ID: "s1", Target: w.quote("safety online"), Text: "Be precise.", Suggest: true, Suggestion: "security on the internet", Time: t0})
	if o.Comment.Original != "safety online" || o.Comment.Suggestion != "security on the internet" {
		t.Fatalf("suggestion %+v", o.Comment)
	}
	// The team types before the words.
	s := w.issues()
	w.do(Push{Author: person("co", access.CoFacilitator), Section: "issues", Base: s.Version, Updates: []editor.ChangeSet{cs(t, editor.UTF16Len(s.Text), 0, 0, "Intro. ")}, Time: t0})
	if _, err := w.a.Do(AcceptSuggestion{Author: person("co", access.CoFacilitator), ID: "s1", Response: "Thanks.", Time: t0}); refusalCode(err) != wire.CodeForbidden {
		t.Fatalf("the team accepts: %v", err)
	}
	acc := w.do(AcceptSuggestion{Author: sec, ID: "s1", Response: "Merged, thank you.", Time: t0})
	if got := w.issues().Text; got != "Intro. First paragraph about security on the internet.\n\nSecond paragraph." {
		t.Fatalf("after accepting: %q", got)
	}
	if !acc.Comment.Merged || acc.Comment.Disposition != "accepted" || acc.Comment.Response != "Merged, thank you." {
		t.Fatalf("the suggestion after accepting: %+v", acc.Comment)
	}
	// It points at the merged words now, not at the words it replaced.
	if v := w.a.Comments()[0]; v.Current == nil || v.Current.State != comments.Anchored || v.Current.Quote.Exact != "security on the internet" {
		t.Fatalf("the accepted suggestion's anchor: %+v", v.Current)
	}
	before := w.issues().Text
	if _, err := w.a.Do(AcceptSuggestion{Author: sec, ID: "s1", Response: "Again.", Time: t0}); refusalCode(err) != CodeInvalid {
		t.Fatalf("a second accept: %v", err)
	}
	// A conflict: the words suggested on are rewritten first.
	w.do(AddComment{Author: public, ID: "s2", Target: w.quote("Second paragraph"), Text: "Rename it.", Suggest: true, Suggestion: "Last paragraph", Time: t0})
	s = w.issues()
	i := strings.Index(s.Text, "Second paragraph")
	w.do(Push{Author: person("co", access.CoFacilitator), Section: "issues", Base: s.Version,
		Updates: []editor.ChangeSet{cs(t, editor.UTF16Len(s.Text), editor.UTF16Offset(s.Text, i), len("Second paragraph"), "Another part")}, Time: t0})
	before = w.issues().Text
	_, err := w.a.Do(AcceptSuggestion{Author: sec, ID: "s2", Response: "x", Time: t0})
	var r *Refusal
	if !errors.As(err, &r) || r.Code != CodeConflict || w.a.Pending() != 0 || w.issues().Text != before {
		t.Fatalf("a conflict: %v; the text %q", err, w.issues().Text)
	}
	// Accepted with changes: the Secretariat's wording.
	w.do(AddComment{Author: public, ID: "s3", Target: w.quote("Intro."), Text: "Drop it.", Suggest: true, Suggestion: "", Time: t0})
	mine := "Introduction."
	w.do(AcceptSuggestion{Author: sec, ID: "s3", Text: &mine, Response: "Kept, renamed.", Time: t0})
	if got := w.issues().Text; !strings.HasPrefix(got, "Introduction. First") {
		t.Fatalf("accepted with changes: %q", got)
	}
	// Replayed from the log: the same text and comments.
	want := viewsJSON(t, w.a)
	fromLog, err := New(testCfg, w.start, w.log)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewsJSON(t, fromLog); got != want || fromLog.Durable().Section("issues").Text != w.issues().Text {
		t.Fatalf("replayed:\n%s\nlive:\n%s", got, want)
	}
}

// TestSuggestionRefusals: accepting a withdrawn or a hidden suggestion, a
// comment that suggests nothing, or one that does not exist is refused;
// so is suggesting on the document or a section, outside the window, or
// in a reply. Nothing changes.
func TestSuggestionRefusals(t *testing.T) {
	w := newCommentWorld(t)
	public, sec := person("pub", access.Public), person("sec", access.Secretariat)
	w.do(AddComment{Author: public, ID: "gone", Target: w.quote("safety"), Text: "x", Suggest: true, Suggestion: "security", Time: t0})
	w.do(ChangeComment{Author: public, ID: "gone", Op: CommentWithdraw, Time: t0})
	w.do(AddComment{Author: public, ID: "hidden", Target: w.quote("online"), Text: "x", Suggest: true, Suggestion: "on the internet", Time: t0})
	w.do(ChangeComment{Author: sec, ID: "hidden", Op: CommentHide, Reason: "Spam.", Time: t0})
	w.do(AddComment{Author: public, ID: "plain", Target: Target{Section: "issues"}, Text: "No wording.", Time: t0})
	for _, tc := range []struct {
		name string
		cmd  Command
		code string
	}{
		{"accept a withdrawn suggestion", AcceptSuggestion{Author: sec, ID: "gone", Response: "x", Time: t0}, CodeCommentGone},
		{"accept a hidden suggestion", AcceptSuggestion{Author: sec, ID: "hidden", Response: "x", Time: t0}, CodeCommentGone},
		{"accept a comment without wording", AcceptSuggestion{Author: sec, ID: "plain", Response: "x", Time: t0}, CodeInvalid},
		{"accept nothing", AcceptSuggestion{Author: sec, ID: "nope", Response: "x", Time: t0}, wire.CodeNotFound},
		{"accept without a response", AcceptSuggestion{Author: sec, ID: "plain", Time: t0}, CodeInvalid},
		{"suggest on a section", AddComment{Author: public, ID: "x", Target: Target{Section: "issues"}, Text: "x", Suggest: true, Suggestion: "y", Time: t0}, CodeInvalid},
		{"suggest after the window", AddComment{Author: public, ID: "x", Target: w.quote("Second"), Text: "x", Suggest: true, Suggestion: "Third", Time: t0.Add(time.Hour)}, wire.CodeForbidden},
		{"suggest in a reply", AddComment{Author: public, ID: "x", Parent: "plain", Text: "x", Suggest: true, Suggestion: "y", Time: t0}, CodeInvalid},
		{"suggest the same words", AddComment{Author: public, ID: "x", Target: w.quote("Second"), Text: "x", Suggest: true, Suggestion: "Second", Time: t0}, CodeInvalid},
	} {
		before, text := viewsJSON(t, w.a), w.issues().Text
		if _, err := w.a.Do(tc.cmd); refusalCode(err) != tc.code {
			t.Errorf("%s: %v; want %s", tc.name, err, tc.code)
		}
		if w.a.Pending() != 0 || viewsJSON(t, w.a) != before || w.issues().Text != text {
			t.Fatalf("%s: a refusal changed something", tc.name)
		}
	}
}

// TestAcceptKeepsTheRest: a suggestion on words of the middle paragraph
// of three; then the team edits the section at random (anywhere,
// including the suggested words) before the Secretariat accepts. An
// accepted suggestion changes the text only where its words now are:
// everything before and after them is byte for byte what it was, the
// other paragraphs included; where the words were left alone, they are
// replaced by the suggestion. A refused accept (a conflict, the words
// gone) changes nothing.
func TestAcceptKeepsTheRest(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	vocab := strings.Fields("forum civil society business government technical community small firms protect networks data online")
	sentence := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	runs := 300
	if testing.Short() {
		runs = 60
	}
	public, sec, team := person("pub", access.Public), person("sec", access.Secretariat), person("co", access.CoFacilitator)
	var merged, refused int
	for run := range runs {
		w := newCommentWorld(t)
		old := w.issues()
		text := sentence(8) + ".\n\n" + sentence(5) + " QUOTED WORDS " + sentence(5) + ".\n\n" + sentence(8) + "."
		w.do(Push{Author: team, Section: "issues", Base: old.Version, Updates: []editor.ChangeSet{cs(t, len(old.Text), 0, len(old.Text), text)}, Time: t0})
		suggestion := []string{"NEW WORDING", "", "QUOTED", "QUOTED AND MORE WORDS"}[rng.IntN(4)]
		w.do(AddComment{Author: public, ID: "s", Target: w.quote("QUOTED WORDS"), Text: "x", Suggest: true, Suggestion: suggestion, Time: t0})
		for range rng.IntN(6) {
			s := w.issues()
			pos := rng.IntN(len(s.Text) + 1)
			del := 0
			if rng.IntN(2) == 0 {
				del = rng.IntN(min(8, len(s.Text)-pos) + 1)
			}
			ins := []string{"", " extra", "X", "\n\n", "WORDS "}[rng.IntN(5)]
			w.do(Push{Author: team, Section: "issues", Base: s.Version, Updates: []editor.ChangeSet{cs(t, len(s.Text), pos, del, ins)}, Time: t0})
		}
		before := w.issues().Text
		var at *comments.Anchor
		for _, v := range w.a.Comments() {
			if v.ID == "s" {
				at = v.Current
			}
		}
		_, err := w.a.Do(AcceptSuggestion{Author: sec, ID: "s", Response: "Thanks.", Time: t0})
		if err != nil {
			code := refusalCode(err)
			if code != CodeConflict || w.a.Pending() != 0 || w.issues().Text != before {
				t.Fatalf("seed %d run %d: a refused accept (%v) changed the text %q to %q", seed, run, err, before, w.issues().Text)
			}
			refused++
			continue
		}
		commit(t, w.a, &w.log)
		merged++
		got := w.issues().Text
		if at == nil || at.State == comments.Orphaned {
			t.Fatalf("seed %d run %d: accepted a suggestion whose words are gone (%+v): %q", seed, run, at, got)
		}
		head, tail := before[:at.Start], before[at.End:]
		if !strings.HasPrefix(got, head) || !strings.HasSuffix(got[len(head):], tail) {
			t.Fatalf("seed %d run %d: the accept changed text outside [%d, %d) of %q: %q", seed, run, at.Start, at.End, before, got)
		}
		if before[at.Start:at.End] == "QUOTED WORDS" && got != head+suggestion+tail {
			t.Fatalf("seed %d run %d: the words untouched, yet %q became %q (suggested %q)", seed, run, before, got, suggestion)
		}
	}
	t.Logf("%d merged, %d refused as conflicts", merged, refused)
	if merged == 0 {
		t.Fatalf("seed %d: no run merged anything", seed)
	}
}
