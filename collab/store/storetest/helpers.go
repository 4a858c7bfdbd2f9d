package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// CreateDocs creates documents {id, bpf} in s, made an hour apart from at,
// for a store's own tests.
func CreateDocs(t testing.TB, s store.Catalog, at time.Time, docs ...[2]string) {
	t.Helper()
	for i, d := range docs {
		doc := &editor.Document{ID: d[0], BPF: d[1], Template: "bpf-output", Title: "Draft " + d[0],
			Created: at.Add(time.Duration(i) * time.Hour), Updated: at}
		if err := s.CreateDocument(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
	}
}

// DocIDs lists the ids of a listing, comma-separated.
func DocIDs(list []store.DocInfo) string {
	var s []string
	for _, d := range list {
		s = append(s, d.ID)
	}
	return strings.Join(s, ",")
}

// WantCorrupt checks that err (what a call named what returned) is
// store.ErrCorrupt, not store.ErrNotFound, naming the record.
func WantCorrupt(t testing.TB, what string, err error, record string) {
	t.Helper()
	if !errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s = %v; want ErrCorrupt", what, err)
	}
	if !strings.Contains(err.Error(), record) {
		t.Fatalf("%s = %q; want it to name %q", what, err, record)
	}
}
