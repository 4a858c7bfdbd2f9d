package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestBackup: a backup taken while the store is written to is a bbolt
// file that opens as a data directory and holds what was committed
// before it began, and nothing of what was appended after.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := &editor.Document{ID: "d", Template: "bpf-output", Title: "Backed up", Sections: []editor.Section{{ID: "issues", Title: "Issues", Text: ""}}}
	if err := s.CreateDocument(ctx, doc); err != nil {
		t.Fatal(err)
	}
	updates := func(from, n int) []store.Update {
		var ups []store.Update
		for i := from; i < from+n; i++ {
			ups = append(ups, store.Update{Seq: int64(i), Section: "issues", Version: i, ClientID: "c", Changes: json.RawMessage(fmt.Sprintf(`[%d,[0,"x"]]`, i-1))})
		}
		return ups
	}
	if err := s.Append(ctx, "d", 0, updates(1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, &store.Account{ID: "a", Email: "a@example.org", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	// An append runs while the copy is written: the copy is of the
	// instant it began.
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	appended := make(chan error, 1)
	w := &duringWrite{w: out, first: func() {
		go func() { appended <- s.Append(ctx, "d", 100, updates(101, 5)) }()
	}}
	var told int64
	written, err := s.Backup(ctx, w, func(n int64) { told = n })
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if head, _ := s.Head(ctx, "d"); head != 105 {
		t.Fatalf("the store's head after the append: %d", head)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Size() != written || written != told {
		t.Fatalf("the copy: %v, %d bytes written", err, written)
	}
	b, err := Open(dir, time.Second)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer b.Close()
	if head, err := b.Head(ctx, "d"); err != nil || head != 100 {
		t.Fatalf("the backup's head: %d, %v; want 100", head, err)
	}
	if ups, err := b.ReadUpdates(ctx, "d", 0, 0); err != nil || len(ups) != 100 {
		t.Fatalf("the backup's log: %d updates, %v", len(ups), err)
	}
	if a, err := b.AccountByEmail(ctx, "a@example.org"); err != nil || a.ID != "a" {
		t.Fatalf("the backup's accounts: %v, %v", a, err)
	}
	s.Close()
	if _, err := s.Backup(ctx, io.Discard, nil); err != store.ErrClosed {
		t.Fatalf("a backup of a closed store: %v", err)
	}
}

// duringWrite calls first before the first write to w.
type duringWrite struct {
	w     io.Writer
	first func()
	began bool
}

func (d *duringWrite) Write(p []byte) (int, error) {
	if !d.began {
		d.began = true
		d.first()
	}
	return d.w.Write(p)
}
