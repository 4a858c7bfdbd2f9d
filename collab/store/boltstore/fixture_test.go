package boltstore

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

var writeFixture = flag.Bool("write-fixture", false, "rewrite testdata/format1.db (only when FormatVersion is 1)")

// TestWriteFixture writes the format 1 fixture on demand; it is kept in git
// so later formats must still read it.
func TestWriteFixture(t *testing.T) {
	if !*writeFixture {
		return
	}
	if FormatVersion != 1 {
		t.Fatal("the format 1 fixture can only be written by format 1")
	}
	dir := t.TempDir()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutBPF(ctx, &editor.BPF{ID: "bpf-fixture", Name: "Fixture BPF", Year: 2026, Created: at}))
	doc := &editor.Document{ID: "fixture", BPF: "bpf-fixture", Template: "bpf-output", Title: "Fixture draft",
		Sections: []editor.Section{
			{ID: "issues", Title: "Definition", Kind: editor.Required, Text: "First paragraph.\n\nSecond paragraph."},
			{ID: "methodology", Title: "Methodology", Kind: editor.Required},
		}, Created: at, Updated: at}
	doc.AssignParagraphIDs()
	must(s.CreateDocument(ctx, doc))
	must(s.Append(ctx, "fixture", 0, []store.Update{
		{Seq: 1, Section: "issues", Version: 1, ClientID: "c1", Changes: json.RawMessage(`[35]`), Time: at},
		{Seq: 2, Section: "issues", Version: 2, ClientID: "c1", Changes: json.RawMessage(`[16,[0," Again."],19]`), Time: at},
	}))
	must(s.Close())
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	must(err)
	must(os.MkdirAll("testdata", 0o755))
	must(os.WriteFile(filepath.Join("testdata", "format1.db"), data, 0o644))
}
