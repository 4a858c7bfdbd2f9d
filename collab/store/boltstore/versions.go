package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Versions are kept per document in docs/<id>/versions/<seq>: a record
// {"info": VersionInfo, "doc": Document}.

var bucketVersions = []byte("versions")

var _ store.Versions = (*Store)(nil)

type versionRecord struct {
	Info store.VersionInfo `json:"info"`
	Doc  *editor.Document  `json:"doc"`
}

// PutVersion implements store.Versions.
func (s *Store) PutVersion(_ context.Context, doc *editor.Document, name string, now time.Time) error {
	data, err := json.Marshal(versionRecord{Info: store.VersionInfo{Doc: doc.ID, Seq: doc.Seq, Name: name, Created: now}, Doc: doc})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, doc.ID)
		if err != nil {
			return err
		}
		v, err := d.CreateBucketIfNotExists(bucketVersions)
		if err != nil {
			return err
		}
		return v.Put(seqKey(doc.Seq), data)
	})
}

// GetVersion implements store.Versions.
func (s *Store) GetVersion(_ context.Context, id string, seq int64) (*editor.Document, error) {
	var rec versionRecord
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		var data []byte
		if v := d.Bucket(bucketVersions); v != nil {
			data = v.Get(seqKey(seq))
		}
		if data == nil {
			return fmt.Errorf("document %s version %d: %w", id, seq, store.ErrNotFound)
		}
		if err := json.Unmarshal(data, &rec); err != nil || rec.Doc == nil {
			return fmt.Errorf("document %s version %d: %w", id, seq, store.ErrCorrupt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec.Doc, nil
}

// ListVersions implements store.Versions.
func (s *Store) ListVersions(_ context.Context, id string) ([]store.VersionInfo, error) {
	var out []store.VersionInfo
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		v := d.Bucket(bucketVersions)
		if v == nil {
			return nil
		}
		return v.ForEach(func(k, data []byte) error {
			var rec struct {
				Info store.VersionInfo `json:"info"`
			}
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("document %s version %d: %w", id, seqOf(k), store.ErrCorrupt)
			}
			out = append(out, rec.Info)
			return nil
		})
	})
	return out, err
}
