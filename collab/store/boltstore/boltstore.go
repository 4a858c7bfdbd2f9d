// Package boltstore is the embedded Store: one bbolt file, no other
// process. It is the default backend of a single bpfdraft node.
//
// # Layout (format 1)
//
//	meta             "format" -> "1"
//	bpfs             id -> BPF JSON
//	docs/<id>/       "snap" -> Document JSON, "info" -> DocInfo JSON,
//	                 "head" -> 8-byte big-endian seq, "first" -> oldest seq kept
//	docs/<id>/log/   8-byte big-endian seq -> Update JSON
//
// # Concurrency
//
// bbolt allows one writer at a time; every method opens its own
// transaction, so methods are safe for concurrent use. Each write
// transaction is fsynced before it returns.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// FormatVersion is the on-disk layout version written to new files. Files
// of a newer version are refused rather than misread.
const FormatVersion = 1

// FileName is the bbolt file inside the data directory.
const FileName = "bpfdraft.db"

var (
	bucketMeta = []byte("meta")
	bucketBPFs = []byte("bpfs")
	bucketDocs = []byte("docs")
	bucketLog  = []byte("log")
	keyFormat  = []byte("format")
	keySnap    = []byte("snap")
	keyInfo    = []byte("info")
	keyHead    = []byte("head")
	keyFirst   = []byte("first")
)

// Store is a store.Store on one bbolt file.
type Store struct {
	db *bolt.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir. It waits at most
// lockTimeout for another process holding the file and then fails with
// store.ErrInUse.
func Open(dir string, lockTimeout time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w (is another bpfdraft running on this data directory?)", path, store.ErrInUse)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyFormat); v != nil {
			var n int
			if _, err := fmt.Sscan(string(v), &n); err != nil || n < 1 || n > FormatVersion {
				return fmt.Errorf("data format %q is not one this version reads (up to %d)", v, FormatVersion)
			}
		} else if err := meta.Put(keyFormat, []byte(fmt.Sprint(FormatVersion))); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketBPFs, bucketDocs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

func seqKey(seq int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(seq))
	return k[:]
}

func seqOf(v []byte) int64 {
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	err := s.db.Update(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// PutBPF implements store.Store.
func (s *Store) PutBPF(_ context.Context, b *editor.BPF) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBPFs)
		if bk.Get([]byte(b.ID)) != nil {
			return fmt.Errorf("bpf %s: %w", b.ID, store.ErrExists)
		}
		return bk.Put([]byte(b.ID), data)
	})
}

// GetBPF implements store.Store.
func (s *Store) GetBPF(_ context.Context, id string) (*editor.BPF, error) {
	var b editor.BPF
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBPFs).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("bpf %s: %w", id, store.ErrNotFound)
		}
		return json.Unmarshal(v, &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ListBPFs implements store.Store.
func (s *Store) ListBPFs(_ context.Context) ([]*editor.BPF, error) {
	var out []*editor.BPF
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBPFs).ForEach(func(_, v []byte) error {
			var b editor.BPF
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			out = append(out, &b)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Year != out[j].Year {
			return out[i].Year < out[j].Year
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

// encodeDoc returns a document's snapshot and listing entry as stored.
func encodeDoc(doc *editor.Document) (snap, info []byte, err error) {
	if snap, err = json.Marshal(doc); err != nil {
		return nil, nil, err
	}
	info, err = json.Marshal(store.InfoOf(doc))
	return snap, info, err
}

// CreateDocument implements store.Store.
func (s *Store) CreateDocument(_ context.Context, doc *editor.Document) error {
	snap, info, err := encodeDoc(doc)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketDocs)
		if docs.Bucket([]byte(doc.ID)) != nil {
			return fmt.Errorf("document %s: %w", doc.ID, store.ErrExists)
		}
		d, err := docs.CreateBucket([]byte(doc.ID))
		if err != nil {
			return err
		}
		if _, err := d.CreateBucket(bucketLog); err != nil {
			return err
		}
		for k, v := range map[string][]byte{
			string(keySnap): snap, string(keyInfo): info,
			string(keyHead): seqKey(doc.Seq), string(keyFirst): seqKey(doc.Seq + 1),
		} {
			if err := d.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDocuments implements store.Store. Titles and sequence numbers are
// those of each document's latest snapshot.
func (s *Store) ListDocuments(_ context.Context, bpf string) ([]store.DocInfo, error) {
	var out []store.DocInfo
	err := s.view(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketDocs)
		return docs.ForEachBucket(func(k []byte) error {
			var info store.DocInfo
			if err := json.Unmarshal(docs.Bucket(k).Get(keyInfo), &info); err != nil {
				return fmt.Errorf("document %s: %w", k, err)
			}
			if bpf == "" || info.BPF == bpf {
				out = append(out, info)
			}
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

func docBucket(tx *bolt.Tx, id string) (*bolt.Bucket, error) {
	d := tx.Bucket(bucketDocs).Bucket([]byte(id))
	if d == nil {
		return nil, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	return d, nil
}

// LoadSnapshot implements store.Store.
func (s *Store) LoadSnapshot(_ context.Context, id string) (*editor.Document, error) {
	var doc editor.Document
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		return json.Unmarshal(d.Get(keySnap), &doc)
	})
	if err != nil {
		return nil, err
	}
	return &doc, nil
}

// PutSnapshot implements store.Store.
func (s *Store) PutSnapshot(_ context.Context, doc *editor.Document, keep int) error {
	snap, info, err := encodeDoc(doc)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, doc.ID)
		if err != nil {
			return err
		}
		var old struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(d.Get(keySnap), &old); err != nil {
			return err
		}
		if doc.Seq <= old.Seq {
			return nil
		}
		if head := seqOf(d.Get(keyHead)); doc.Seq > head {
			return fmt.Errorf("snapshot at %d is past the log head %d: %w", doc.Seq, head, store.ErrVersionConflict)
		}
		if err := d.Put(keySnap, snap); err != nil {
			return err
		}
		if err := d.Put(keyInfo, info); err != nil {
			return err
		}
		// Drop log entries up to the snapshot, keeping the newest keep.
		first := seqOf(d.Get(keyFirst))
		cut := doc.Seq - int64(keep) // entries <= cut may go
		if cut < first {
			return nil
		}
		log := d.Bucket(bucketLog)
		c := log.Cursor()
		for k, _ := c.First(); k != nil && seqOf(k) <= cut; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return d.Put(keyFirst, seqKey(cut+1))
	})
}

// Head implements store.Store.
func (s *Store) Head(_ context.Context, id string) (int64, error) {
	var head int64
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		head = seqOf(d.Get(keyHead))
		return nil
	})
	return head, err
}

// Append implements store.Store.
func (s *Store) Append(_ context.Context, id string, expectSeq int64, ups []store.Update) error {
	if len(ups) == 0 {
		return nil
	}
	vals := make([][]byte, len(ups))
	for i := range ups {
		if ups[i].Seq != expectSeq+int64(i)+1 {
			return fmt.Errorf("update %d numbered %d, want %d: %w", i, ups[i].Seq, expectSeq+int64(i)+1, store.ErrVersionConflict)
		}
		v, err := json.Marshal(&ups[i])
		if err != nil {
			return err
		}
		vals[i] = v
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		if head := seqOf(d.Get(keyHead)); head != expectSeq {
			return fmt.Errorf("document %s is at %d, append expected %d: %w", id, head, expectSeq, store.ErrVersionConflict)
		}
		log := d.Bucket(bucketLog)
		// Keys grow monotonically: let bbolt fill pages completely.
		log.FillPercent = 1.0
		for i, v := range vals {
			if err := log.Put(seqKey(ups[i].Seq), v); err != nil {
				return err
			}
		}
		return d.Put(keyHead, seqKey(ups[len(ups)-1].Seq))
	})
}

// ReadUpdates implements store.Store.
func (s *Store) ReadUpdates(_ context.Context, id string, after int64, limit int) ([]store.Update, error) {
	var out []store.Update
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		head := seqOf(d.Get(keyHead))
		if after >= head {
			return nil
		}
		if first := seqOf(d.Get(keyFirst)); after+1 < first {
			return fmt.Errorf("document %s keeps updates from %d, asked after %d: %w", id, first, after, store.ErrCompacted)
		}
		c := d.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var u store.Update
			// json.Unmarshal copies what it keeps (RawMessage included), so
			// nothing refers to bbolt's memory after the transaction.
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("document %s update %d: %w", id, seqOf(k), err)
			}
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

// Ping implements store.Store: a read transaction succeeds.
func (s *Store) Ping(_ context.Context) error {
	return s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("meta bucket missing")
		}
		return nil
	})
}

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }

// setFormat overwrites the format marker; for tests of old and new files.
func (s *Store) setFormat(v string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte(v)) })
}
