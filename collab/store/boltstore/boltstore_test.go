package boltstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.TempDir(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLockedByAnother(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, 50*time.Millisecond); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second Open = %v; want ErrInUse", err)
	}
}

// TestFormat1Fixture opens a file written by format 1, kept in testdata, so
// a layout change that cannot read old data fails here.
func TestFormat1Fixture(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "format1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	doc, err := s.LoadSnapshot(ctx, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Title != "Fixture draft" || len(doc.Sections) != 2 || doc.Sections[0].Text != "First paragraph.\n\nSecond paragraph." {
		t.Fatalf("fixture document = %+v", doc)
	}
	ups, err := s.ReadUpdates(ctx, "fixture", 0, 0)
	if err != nil || len(ups) != 2 || string(ups[1].Changes) != `[16,[0," Again."],19]` {
		t.Fatalf("fixture updates = %+v, %v", ups, err)
	}
	if b, err := s.GetBPF(ctx, "bpf-fixture"); err != nil || b.Year != 2026 {
		t.Fatalf("fixture BPF = %+v, %v", b, err)
	}
}

func TestRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.setFormat("99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, time.Second); err == nil {
		t.Fatal("Open of a format 99 file succeeded; want an error")
	}
}
