package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// versionRecord is a kept version as stored in a document's versions hash.
type versionRecord struct {
	Info store.VersionInfo `json:"info"`
	Doc  *editor.Document  `json:"doc"`
}

// PutVersion implements store.Versions. It checks that the document
// exists and then writes: documents are never deleted, so nothing can
// come between.
func (s *Store) PutVersion(ctx context.Context, doc *editor.Document, name string, now time.Time) error {
	data, err := json.Marshal(versionRecord{Info: store.VersionInfo{Doc: doc.ID, Seq: doc.Seq, Name: name, Created: now}, Doc: doc})
	if err != nil {
		return err
	}
	ok, err := s.docExists(ctx, doc.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("document %s: %w", doc.ID, store.ErrNotFound)
	}
	return s.rdb.HSet(ctx, s.docKey(doc.ID, "versions"), seqArg(doc.Seq), data).Err()
}

// GetVersion implements store.Versions.
func (s *Store) GetVersion(ctx context.Context, id string, seq int64) (*editor.Document, error) {
	v, err := s.rdb.HGet(ctx, s.docKey(id, "versions"), seqArg(seq)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("document %s version %d: %w", id, seq, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var rec versionRecord
	err = json.Unmarshal([]byte(v), &rec)
	if err == nil && (rec.Doc == nil || rec.Doc.ID != id) {
		err = errors.New("no document of that id in the record")
	}
	if err != nil {
		return nil, store.Corrupt(fmt.Sprintf("document %s version %d", id, seq), err)
	}
	return rec.Doc, nil
}

// ListVersions implements store.Versions: by seq.
func (s *Store) ListVersions(ctx context.Context, id string) ([]store.VersionInfo, error) {
	var exists *redis.IntCmd
	var all *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, s.docKey(id, "head"), s.docKey(id, "snapshot"))
		all = p.HGetAll(ctx, s.docKey(id, "versions"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if exists.Val() == 0 {
		return nil, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	type kept struct {
		seq  int64
		info store.VersionInfo
	}
	var list []kept
	var broken []error
	for k, v := range all.Val() {
		seq, err := parseSeq(k)
		var rec struct {
			Info store.VersionInfo `json:"info"`
		}
		if err == nil {
			err = json.Unmarshal([]byte(v), &rec)
		}
		if err != nil {
			broken = append(broken, store.Corrupt(fmt.Sprintf("document %s version %s", id, k), err))
			continue
		}
		list = append(list, kept{seq, rec.Info})
	}
	slices.SortFunc(list, func(a, b kept) int { return cmp.Compare(a.seq, b.seq) })
	var out []store.VersionInfo
	for _, k := range list {
		out = append(out, k.info)
	}
	return out, errors.Join(broken...)
}
