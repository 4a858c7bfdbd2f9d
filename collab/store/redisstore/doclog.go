package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// PutBPF implements store.Catalog.
func (s *Store) PutBPF(ctx context.Context, b *editor.BPF) error {
	if err := store.NeedID("BPF", b.ID); err != nil {
		return err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	set, err := s.rdb.HSetNX(ctx, s.catalogKey("bpfs"), b.ID, data).Result()
	if err != nil {
		return err
	}
	if !set {
		return fmt.Errorf("bpf %s: %w", b.ID, store.ErrExists)
	}
	return nil
}

// GetBPF implements store.Catalog.
func (s *Store) GetBPF(ctx context.Context, id string) (*editor.BPF, error) {
	v, err := s.rdb.HGet(ctx, s.catalogKey("bpfs"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("bpf %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeBPF(id, []byte(v))
}

// ListBPFs implements store.Catalog: by year, then name, then id.
func (s *Store) ListBPFs(ctx context.Context) ([]*editor.BPF, error) {
	all, err := s.rdb.HGetAll(ctx, s.catalogKey("bpfs")).Result()
	if err != nil {
		return nil, err
	}
	out, err := decodeAll(all, store.DecodeBPF)
	slices.SortStableFunc(out, func(a, b *editor.BPF) int {
		return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Name, b.Name))
	})
	return out, err
}

// decodeAll decodes the records of a hash (field -> record) in the order
// of their fields, so that listings sorted stably afterwards break ties
// by id. The readable ones are returned, with an error joining one for
// each unreadable one.
func decodeAll[T any](all map[string]string, decode func(field string, v []byte) (T, error)) ([]T, error) {
	var out []T
	var broken []error
	for _, k := range slices.Sorted(maps.Keys(all)) {
		r, err := decode(k, []byte(all[k]))
		if err != nil {
			broken = append(broken, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(broken...)
}

// CreateDocument implements store.Catalog. The document is indexed first
// and stored second (see the package comment).
func (s *Store) CreateDocument(ctx context.Context, doc *editor.Document) error {
	if err := store.NeedID("document", doc.ID); err != nil {
		return err
	}
	snap, info, err := store.EncodeDocument(doc)
	if err != nil {
		return err
	}
	if err := s.rdb.SAdd(ctx, s.catalogKey("docs"), doc.ID).Err(); err != nil {
		return err
	}
	id := doc.ID
	status, rest, err := s.run(ctx, scriptCreate,
		[]string{s.docKey(id, "head"), s.docKey(id, "start"), s.docKey(id, "snapshot"), s.docKey(id, "info")},
		doc.Seq, doc.Seq+1, snap, info)
	if err != nil {
		return err
	}
	if status != "ok" {
		return docAnswer(id, status, rest)
	}
	return nil
}

// ListDocuments implements store.Catalog. An entry whose listing record
// cannot be read is rebuilt from the document's snapshot when that can be
// read, and is marked Broken either way. An indexed id whose document
// does not exist (its creation not finished) is left out.
func (s *Store) ListDocuments(ctx context.Context, bpf string) ([]store.DocInfo, error) {
	ids, err := s.rdb.SMembers(ctx, s.catalogKey("docs")).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	infos := make([]*redis.StringCmd, len(ids))
	exists := make([]*redis.IntCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			infos[i] = p.Get(ctx, s.docKey(id, "info"))
			exists[i] = p.Exists(ctx, s.docKey(id, "head"), s.docKey(id, "snapshot"))
		}
		return nil
	})
	if err := notNil(err); err != nil {
		return nil, err
	}
	var out []store.DocInfo
	for i, id := range ids {
		n, err := exists[i].Result()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		v, err := infos[i].Result()
		if err := notNil(err); err != nil {
			return nil, err
		}
		info, known, err := s.readInfo(ctx, id, v)
		if err != nil {
			return nil, err
		}
		if bpf == "" || info.BPF == bpf || !known {
			out = append(out, info)
		}
	}
	// ids are in order, and the sort is stable: ties stay by id.
	slices.SortStableFunc(out, func(a, b store.DocInfo) int {
		if a.Created.IsZero() != b.Created.IsZero() {
			if a.Created.IsZero() {
				return 1
			}
			return -1
		}
		return a.Created.Compare(b.Created)
	})
	return out, nil
}

// readInfo returns the listing entry of the document id from its stored
// record v, or as much of it as can be recovered, marked Broken; known is
// false when nothing but the id is.
func (s *Store) readInfo(ctx context.Context, id, v string) (info store.DocInfo, known bool, err error) {
	if err := json.Unmarshal([]byte(v), &info); err == nil && info.ID == id {
		info.Broken = ""
		return info, true, nil
	}
	snap, err := s.rdb.HGet(ctx, s.docKey(id, "snapshot"), "doc").Result()
	if err := notNil(err); err != nil {
		return store.DocInfo{}, false, err
	}
	if doc, err := store.DecodeSnapshot(id, []byte(snap)); err == nil {
		info = store.InfoOf(doc)
		info.Broken = "the stored listing entry could not be read; this one is rebuilt from the document's snapshot"
		return info, true, nil
	}
	return store.DocInfo{ID: id, Broken: "the stored listing entry and the document's snapshot could not be read"}, false, nil
}

// docExists reports whether the document id was created: its head or its
// snapshot is stored.
func (s *Store) docExists(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.docKey(id, "head"), s.docKey(id, "snapshot")).Result()
	return n > 0, err
}

// LoadSnapshot implements store.DocLog.
func (s *Store) LoadSnapshot(ctx context.Context, id string) (*editor.Document, error) {
	v, err := s.rdb.HGet(ctx, s.docKey(id, "snapshot"), "doc").Result()
	if errors.Is(err, redis.Nil) {
		ok, err := s.docExists(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			return nil, store.Corrupt(fmt.Sprintf("document %s snapshot", id), errors.New("missing"))
		}
		return nil, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeSnapshot(id, []byte(v))
}

// PutSnapshot implements store.DocLog with snapshot.lua: the check against
// the head, the replacement and the compaction are one step.
func (s *Store) PutSnapshot(ctx context.Context, doc *editor.Document, keep int) error {
	snap, info, err := store.EncodeDocument(doc)
	if err != nil {
		return err
	}
	id := doc.ID
	status, rest, err := s.run(ctx, scriptSnapshot,
		[]string{s.docKey(id, "head"), s.docKey(id, "start"), s.docKey(id, "snapshot"), s.docKey(id, "info"), s.docKey(id, "log")},
		doc.Seq, max(keep, 0), snap, info)
	if err != nil {
		return err
	}
	switch status {
	case "ok":
		return nil
	case "conflict":
		return fmt.Errorf("snapshot of document %s at %d is past the log head %s: %w", id, doc.Seq, str(rest, 0), store.ErrVersionConflict)
	}
	return docAnswer(id, status, rest)
}

// Head implements store.DocLog.
func (s *Store) Head(ctx context.Context, id string) (int64, error) {
	return s.readSeq(ctx, id, "head")
}

// LogStart implements store.DocLog.
func (s *Store) LogStart(ctx context.Context, id string) (int64, error) {
	return s.readSeq(ctx, id, "start")
}

// readSeq reads the seq kept under a document's key part, with whether
// the document exists, at one moment.
func (s *Store) readSeq(ctx context.Context, id, part string) (int64, error) {
	var get *redis.StringCmd
	var exists *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.docKey(id, part))
		exists = p.Exists(ctx, s.docKey(id, "head"), s.docKey(id, "snapshot"))
		return nil
	})
	if err := notNil(err); err != nil {
		return 0, err
	}
	v, err := get.Result()
	if errors.Is(err, redis.Nil) {
		if exists.Val() == 0 {
			return 0, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
		}
		return 0, store.Corrupt(fmt.Sprintf("document %s %s", id, part), errors.New("missing"))
	}
	if err != nil {
		return 0, err
	}
	seq, err := parseSeq(v)
	if err != nil {
		return 0, store.Corrupt(fmt.Sprintf("document %s %s", id, part), err)
	}
	return seq, nil
}

// Append implements store.DocLog with append.lua, which also publishes
// the new head to watchers.
func (s *Store) Append(ctx context.Context, id string, expectSeq int64, ups []store.Update) error {
	if len(ups) == 0 {
		return nil
	}
	last := expectSeq + int64(len(ups))
	args := make([]any, 0, 5+2*len(ups))
	args = append(args, expectSeq, last, s.channel(id), s.writer, s.turnTTL.Milliseconds())
	for i := range ups {
		if want := expectSeq + int64(i) + 1; ups[i].Seq != want {
			return fmt.Errorf("update %d numbered %d, want %d: %w", i, ups[i].Seq, want, store.ErrVersionConflict)
		}
		v, err := json.Marshal(&ups[i])
		if err != nil {
			return err
		}
		args = append(args, ups[i].Seq, v)
	}
	status, rest, err := s.run(ctx, scriptAppend,
		[]string{s.docKey(id, "head"), s.docKey(id, "log"), s.docKey(id, "snapshot"), s.docKey(id, "turn")}, args...)
	if err != nil {
		return err
	}
	switch status {
	case "ok":
		return nil
	case "busy":
		return fmt.Errorf("document %s: %w", id, store.ErrBusy)
	case "conflict":
		return fmt.Errorf("document %s is at %s, append expected %d: %w", id, str(rest, 0), expectSeq, store.ErrVersionConflict)
	}
	return docAnswer(id, status, rest)
}

// ReadUpdates implements store.DocLog with read.lua: the entries, the head
// and the log's start are read at one moment.
func (s *Store) ReadUpdates(ctx context.Context, id string, after int64, limit int) ([]store.Update, error) {
	status, rest, err := s.run(ctx, scriptRead,
		[]string{s.docKey(id, "head"), s.docKey(id, "start"), s.docKey(id, "log"), s.docKey(id, "snapshot")},
		after, max(limit, 0))
	if err != nil {
		return nil, err
	}
	switch status {
	case "ok":
	case "compacted":
		return nil, fmt.Errorf("document %s keeps updates from %s, asked after %d: %w", id, str(rest, 0), after, store.ErrCompacted)
	default:
		return nil, docAnswer(id, status, rest)
	}
	var out []store.Update
	for i, v := range rest {
		want := after + int64(i) + 1
		record := fmt.Sprintf("document %s update %d", id, want)
		data, ok := v.(string)
		if !ok {
			return nil, store.Corrupt(record, errors.New("missing from the log"))
		}
		var u store.Update
		err := json.Unmarshal([]byte(data), &u)
		if err == nil && u.Seq != want {
			err = fmt.Errorf("entry numbered %d", u.Seq)
		}
		if err != nil {
			return nil, store.Corrupt(record, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// seqArg formats a seq as stored.
func seqArg(seq int64) string { return strconv.FormatInt(seq, 10) }
