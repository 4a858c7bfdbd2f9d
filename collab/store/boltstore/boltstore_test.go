package boltstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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

// TestCopy: everything one bbolt store keeps is copied into another.
func TestCopy(t *testing.T) {
	open := func(t *testing.T) store.Store {
		s, err := Open(t.TempDir(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.RunCopy(t, open, open)
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
	// The buckets added within format 1 are created on open: the people
	// and the audit log start empty and work.
	if list, err := s.ListAccounts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("fixture ListAccounts = %v, %v; want none", list, err)
	}
	if err := s.CreateAccount(ctx, &store.Account{ID: "a", Email: "a@example.org", Created: at}); err != nil {
		t.Fatal(err)
	}
	if seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil || seq != 1 {
		t.Fatalf("fixture AppendAudit = %d, %v; want 1", seq, err)
	}
}

// TestReopen checks that the people and the audit log outlive the Store,
// and that audit seqs go on from where they were.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAccount(ctx, &store.Account{ID: "a", Email: "Ana@Example.org", Created: at}))
	must(s.SetMembership(ctx, store.Membership{BPF: "x", Account: "a", Role: "co-facilitator", Added: at}))
	must(s.CreateSession(ctx, &store.Session{ID: "h", Account: "a", Created: at, Expires: at.Add(time.Hour)}))
	must(s.CreateInvitation(ctx, &store.Invitation{ID: "i", BPF: "x", Created: at, Expires: at.Add(time.Hour)}))
	for range 3 {
		_, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"})
		must(err)
	}
	must(s.Close())

	s, err = Open(dir, time.Second)
	must(err)
	defer s.Close()
	if a, err := s.AccountByEmail(ctx, "ana@example.org"); err != nil || a.ID != "a" {
		t.Fatalf("AccountByEmail after reopen = %+v, %v", a, err)
	}
	if ms, err := s.Members(ctx, "x"); err != nil || len(ms) != 1 {
		t.Fatalf("Members after reopen = %+v, %v", ms, err)
	}
	if _, err := s.GetSession(ctx, "h", at); err != nil {
		t.Fatalf("GetSession after reopen: %v", err)
	}
	if _, err := s.TakeInvitation(ctx, "i", "a", at); err != nil {
		t.Fatalf("TakeInvitation after reopen: %v", err)
	}
	if seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil || seq != 4 {
		t.Fatalf("AppendAudit after reopen = %d, %v; want 4", seq, err)
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

// TestFormat1Upgrade: a format 1 file is marked 2 when opened; its
// snapshots are read where format 1 kept them and move to their bucket
// when next written, and an older reader of format 1 would now refuse
// the file rather than misread it.
func TestFormat1Upgrade(t *testing.T) {
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
	var format string
	s.view(func(tx *bolt.Tx) error { format = string(tx.Bucket(bucketMeta).Get(keyFormat)); return nil })
	if format != "2" {
		t.Fatalf("format after opening a format 1 file: %q", format)
	}
	doc, err := s.LoadSnapshot(ctx, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.Head(ctx, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	doc.Seq = head
	if err := s.PutSnapshot(ctx, doc, 10); err != nil {
		t.Fatal(err)
	}
	s.view(func(tx *bolt.Tx) error {
		d := tx.Bucket(bucketDocs).Bucket([]byte("fixture"))
		if d.Get(keySnap) != nil || d.Bucket(bucketSnap) == nil || d.Bucket(bucketSnap).Get(keySnap) == nil {
			t.Error("the rewritten snapshot is not in its bucket alone")
		}
		return nil
	})
	again, err := s.LoadSnapshot(ctx, "fixture")
	if err != nil || again.Title != doc.Title {
		t.Fatalf("after the move: %+v, %v", again, err)
	}
}
