package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// AppendAudit implements store.Audit. The seq is the audit bucket's
// sequence, which bbolt keeps with the bucket and rolls back with a failed
// transaction, so seqs have no gaps.
func (s *Store) AppendAudit(_ context.Context, e store.AuditEntry) (int64, error) {
	var seq int64
	err := s.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketAudit)
		n, err := bk.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = int64(n)
		data, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		// Keys grow monotonically: let bbolt fill pages completely.
		bk.FillPercent = 1.0
		if err := bk.Put(seqKey(e.Seq), data); err != nil {
			return err
		}
		seq = e.Seq
		return nil
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// matches reports whether the filter selects e, After and Limit aside.
func matches(f store.AuditFilter, e *store.AuditEntry) bool {
	return (f.BPF == "" || e.BPF == f.BPF) &&
		(f.Doc == "" || e.Doc == f.Doc) &&
		(f.Account == "" || e.Account == f.Account) &&
		(f.Action == "" || e.Action == f.Action)
}

// ListAudit implements store.Audit. An entry that cannot be decoded is
// left out, whether or not the filter would select it, and reported as
// ListAccounts reports unreadable accounts, naming its seq; it does not
// count towards Limit.
func (s *Store) ListAudit(_ context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		if f.After == math.MaxInt64 {
			return nil
		}
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(seqKey(max(f.After, 0) + 1)); k != nil && (f.Limit <= 0 || len(out) < f.Limit); k, v = c.Next() {
			var e store.AuditEntry
			err := json.Unmarshal(v, &e)
			if err == nil && e.Seq != seqOf(k) {
				err = fmt.Errorf("entry numbered %d", e.Seq)
			}
			if err != nil {
				broken = append(broken, store.Corrupt(fmt.Sprintf("audit entry %d", seqOf(k)), err))
				continue
			}
			if matches(f, &e) {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(broken...)
}
