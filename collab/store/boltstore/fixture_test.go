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

// TestFixtureGenerator builds the format 1 fixture afresh and checks that
// it holds exactly what the committed testdata/format1.db holds, so the
// generator and the fixture cannot drift apart; with -write-fixture it
// rewrites the committed file (only while FormatVersion is 1).
func TestFixtureGenerator(t *testing.T) {
	dir := t.TempDir()
	writeFormat1(t, dir)
	fresh := filepath.Join(dir, FileName)
	if *writeFixture {
		if FormatVersion != 1 {
			t.Fatal("the format 1 fixture can only be written by format 1")
		}
		data, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "format1.db"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "format1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(committed, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := contentOf(t, dir), contentOf(t, committed); got != want {
		t.Fatalf("the generator makes\n%s\nthe committed fixture holds\n%s\n(rewrite it with -write-fixture if the change is meant)", got, want)
	}
}

// contentOf lists what a store holds, as JSON.
func contentOf(t *testing.T, dir string) string {
	t.Helper()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	bpfs, err := s.ListBPFs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := s.ListDocuments(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"bpfs": bpfs, "docs": docs}
	for _, d := range docs {
		snap, err := s.LoadSnapshot(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		ups, err := s.ReadUpdates(ctx, d.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		out["snap-"+d.ID], out["log-"+d.ID] = snap, ups
	}
	data, _ := json.MarshalIndent(out, "", " ")
	return string(data)
}

// writeFormat1 writes the fixture's content into a new store in dir.
func writeFormat1(t *testing.T, dir string) {
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
}
