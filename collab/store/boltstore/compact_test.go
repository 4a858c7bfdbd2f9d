package boltstore

import (
	"context"
	"encoding/json"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestCompactionRemovesEntries checks the file, not only LogStart: the
// entries a snapshot drops are gone, over many pages, and the kept ones are
// all there.
func TestCompactionRemovesEntries(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""})
	const n = 2000
	ups := make([]store.Update, n)
	for i := range ups {
		ups[i] = store.Update{Seq: int64(i + 1), ClientID: "c", Changes: json.RawMessage(`[1,[0,"some text"]]`), Time: at}
	}
	if err := s.Append(ctx, "d", 0, ups); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		seq  int64
		keep int
	}{{700, 100}, {1500, 0}, {1999, 300}} {
		doc := &editor.Document{ID: "d", Seq: step.seq}
		if err := s.PutSnapshot(ctx, doc, step.keep); err != nil {
			t.Fatal(err)
		}
		first, err := s.LogStart(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		var keys int
		var lo, hi int64
		s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketDocs).Bucket([]byte("d")).Bucket(bucketLog).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if keys == 0 {
					lo = seqOf(k)
				}
				hi = seqOf(k)
				keys++
			}
			return nil
		})
		if lo != first || hi != n || int64(keys) != n-first+1 {
			t.Fatalf("after a snapshot at %d keeping %d: log holds %d entries %d..%d; want %d..%d", step.seq, step.keep, keys, lo, hi, first, n)
		}
	}
}
