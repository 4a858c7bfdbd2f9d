package access

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

func TestCheck(t *testing.T) {
	drafting := Context{Stage: editor.StageDrafting}
	open := Context{Stage: editor.StagePublicComment, WindowOpen: true, Published: true}
	closed := Context{Stage: editor.StagePublicComment, Published: true}
	frozen := Context{Stage: editor.StagePublicComment, WindowOpen: true, Published: true, Frozen: true}
	revision := Context{Stage: editor.StageRevision, Published: true}
	final := Context{Stage: editor.StageFinal, Published: true}
	for _, tc := range []struct {
		role   Role
		action Action
		c      Context
		ok     bool
	}{
		{Anonymous, ReadDraft, drafting, false},
		{Anonymous, ReadDraft, Context{Stage: editor.StageDrafting, PublicDraft: true}, true},
		{Public, ReadDraft, revision, false},
		{CoFacilitator, ReadDraft, drafting, true},
		{Anonymous, ReadPublished, drafting, false},
		{Anonymous, ReadPublished, open, true},
		{Anonymous, ReadPublished, final, true},
		{Public, EditText, open, false},
		{CoFacilitator, EditText, drafting, true},
		{MAGFacilitator, EditText, open, true},
		{CoFacilitator, EditText, frozen, false},
		{Secretariat, EditText, frozen, true},
		{Secretariat, EditText, final, true}, // corrections, published as versions
		{CoFacilitator, EditText, final, false},
		{CoFacilitator, EditStructure, revision, true},
		{Public, EditStructure, drafting, false},
		{Secretariat, EditStructure, final, false},
		{Anonymous, Comment, open, false},
		{Public, Comment, open, true},
		{Public, Comment, closed, false},
		{Public, Comment, drafting, false},
		{Public, Suggest, revision, false},
		{CoFacilitator, Comment, drafting, true},
		{Secretariat, Comment, final, false},
		{CoFacilitator, ProposeDecision, revision, true},
		{Public, ProposeDecision, open, false},
		{CoFacilitator, Decide, revision, false},
		{Secretariat, Decide, revision, true},
		{Secretariat, Decide, final, false},
		{MAGFacilitator, ChangeStage, drafting, false},
		{Secretariat, ChangeStage, final, true},
		{MAGFacilitator, ManageTeam, drafting, false},
		{Secretariat, ManageTeam, drafting, true},
		{Public, CreateDocument, drafting, false},
		{Secretariat, ViewAudit, drafting, true},
		{CoFacilitator, Moderate, open, false},
		{Role("intruder"), EditText, drafting, false},
		{Secretariat, Action("fly"), drafting, false},
	} {
		err := Check(tc.role, tc.action, tc.c)
		var d *Denied
		if (err == nil) != tc.ok || (err != nil && (!errors.As(err, &d) || d.Why == "")) {
			t.Errorf("Check(%s, %s, %+v) = %v; want allowed %v", tc.role, tc.action, tc.c, err, tc.ok)
		}
	}
}

// TestDocsMatrix: docs/permissions.md holds the matrix as Matrix renders
// it (rewrite the table with -update).
func TestDocsMatrix(t *testing.T) {
	const path = "../../docs/permissions.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	const begin, end = "<!-- matrix -->\n", "<!-- /matrix -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q block", path, begin, end)
	}
	want := MarkdownTable()
	if got := doc[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s's matrix is not what the code does; rewrite it with go test ./collab/access -update\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var update = flag.Bool("update", false, "rewrite the matrix in docs/permissions.md")
