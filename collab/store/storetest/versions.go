package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// VersionsStore is what RunVersions needs: versions of documents the
// store has.
type VersionsStore interface {
	store.DocLog
	store.Catalog
	store.Versions
}

// RunVersions checks the Versions contract.
func RunVersions(t *testing.T, newStore func(t *testing.T) VersionsStore) {
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	t.Run("PutGetList", func(t *testing.T) {
		s := newStore(t)
		doc := &editor.Document{ID: "v1", Template: "bpf-output", Title: "Versions", Seq: 0,
			Sections: []editor.Section{{ID: "issues", Title: "Issues", Kind: editor.Required, Text: "First."}}, Created: at}
		if err := s.CreateDocument(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetVersion(ctx, "v1", 3); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetVersion before any: %v; want ErrNotFound", err)
		}
		opened := doc.Clone()
		opened.Seq = 3
		opened.Sections[0].Text = "Opened for comment."
		if err := s.PutVersion(ctx, opened, "opened for public comment", at); err != nil {
			t.Fatal(err)
		}
		final := opened.Clone()
		final.Seq = 9
		final.Sections[0].Text = "Final."
		if err := s.PutVersion(ctx, final, "final", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetVersion(ctx, "v1", 3)
		if err != nil || got.Seq != 3 || got.Sections[0].Text != "Opened for comment." {
			t.Fatalf("GetVersion(3) = %+v, %v", got, err)
		}
		list, err := s.ListVersions(ctx, "v1")
		if err != nil || len(list) != 2 || list[0].Seq != 3 || list[1].Name != "final" || !list[1].Created.Equal(at.Add(time.Hour)) {
			t.Fatalf("ListVersions = %+v, %v", list, err)
		}
		if _, err := s.ListVersions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ListVersions of an unknown document: %v", err)
		}
		if err := s.PutVersion(ctx, &editor.Document{ID: "nope", Seq: 1}, "x", at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("PutVersion of an unknown document: %v", err)
		}
		// Snapshots and compaction leave versions alone.
		if err := s.PutSnapshot(ctx, opened, 0); err == nil {
			if got, err := s.GetVersion(ctx, "v1", 3); err != nil || got.Seq != 3 {
				t.Fatalf("after a snapshot: %v", err)
			}
		}
	})
}
