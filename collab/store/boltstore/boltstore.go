// Package boltstore is the embedded store: one bbolt file, no other
// process. It is the default backend of a single bpfdraft node and
// implements every capability of package store: Catalog, DocLog, Accounts,
// Sessions, Invitations, Audit, Versions and Notifier (an in-process
// fan-out, so engines sharing one Store see each other's appends).
//
// # Layout (format 2)
//
//	meta             "format" -> "2"
//	bpfs             id -> BPF JSON
//	docs/<id>/       "info" -> DocInfo JSON,
//	                 "head" -> 8-byte big-endian seq, "first" -> oldest seq kept
//	docs/<id>/log/   8-byte big-endian seq -> Update JSON
//	docs/<id>/snapshot/ "snap" -> Document JSON (format 1: "snap" in docs/<id>/)
//	docs/<id>/versions/ 8-byte big-endian seq -> {name, created, document}
//	accounts         id -> Account JSON
//	emails           lower-cased email -> account id
//	members          pair(bpf, account) -> Membership JSON
//	teams            pair(account, bpf) -> "" (index of members by account)
//	sessions         id -> Session JSON
//	account-sessions pair(account, session id) -> "" (index)
//	invitations      id -> Invitation JSON
//	bpf-invitations  pair(bpf, invitation id) -> "" (index)
//	audit            8-byte big-endian seq -> AuditEntry JSON; the bucket's
//	                 sequence is the last seq given
//
// pair(a, b) is the uvarint length of a, a, then b: the keys of one a are
// contiguous and no id, whatever bytes it holds, can run into the next.
// The buckets from accounts on were added within format 1: Open creates
// them in an older file, and an older binary ignores them.
//
// # Concurrency
//
// bbolt allows one writer at a time; every method opens its own
// transaction, so methods are safe for concurrent use. Each write
// transaction is fsynced before it returns. Watchers are told of an append
// after its transaction has committed, each from a goroutine of its own.
//
// # Caveats
//
// One process per file: bbolt locks it, and Open fails with store.ErrInUse
// after its timeout. Engines in one process share one *Store rather than
// opening the file twice. A record that cannot be decoded is reported as
// store.ErrCorrupt for that record only; nothing repairs it, except that
// UpdateAccount may replace an unreadable account. ListAudit reads the log
// from After on and filters as it goes, without indexes: fine for the
// thousands of entries a year of BPFs makes.
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
// of a newer version are refused rather than misread. Format 2 keeps a
// document's snapshot in a bucket of its own; a format 1 file is read as
// it is (its snapshots move as they are next written) and marked 2 when
// opened.
const FormatVersion = 2

// FileName is the bbolt file inside the data directory.
const FileName = "bpfdraft.db"

var (
	bucketMeta = []byte("meta")
	bucketBPFs = []byte("bpfs")
	bucketDocs = []byte("docs")
	bucketLog  = []byte("log")
	// bucketSnap holds a document's snapshot ("snap"), apart from the keys
	// every append changes ("head"), so that an append does not write the
	// snapshot's pages again (a leaf with a changed key is written whole).
	bucketSnap = []byte("snapshot")
	keyFormat  = []byte("format")
	keySnap    = []byte("snap")
	keyInfo    = []byte("info")
	keyHead    = []byte("head")
	keyFirst   = []byte("first")

	bucketAccounts        = []byte("accounts")
	bucketEmails          = []byte("emails")
	bucketMembers         = []byte("members")
	bucketTeams           = []byte("teams")
	bucketSessions        = []byte("sessions")
	bucketAccountSessions = []byte("account-sessions")
	bucketInvitations     = []byte("invitations")
	bucketBPFInvitations  = []byte("bpf-invitations")
	bucketAudit           = []byte("audit")
)

// topBuckets are created by Open when missing.
var topBuckets = [][]byte{
	bucketBPFs, bucketDocs,
	bucketAccounts, bucketEmails, bucketMembers, bucketTeams,
	bucketSessions, bucketAccountSessions,
	bucketInvitations, bucketBPFInvitations,
	bucketAudit,
}

// Store is a store.Store and a store.Notifier on one bbolt file.
type Store struct {
	db      *bolt.DB
	watches watches
}

var (
	_ store.Catalog     = (*Store)(nil)
	_ store.DocLog      = (*Store)(nil)
	_ store.Accounts    = (*Store)(nil)
	_ store.Sessions    = (*Store)(nil)
	_ store.Invitations = (*Store)(nil)
	_ store.Audit       = (*Store)(nil)
	_ store.Store       = (*Store)(nil)
	_ store.Notifier    = (*Store)(nil)
	_ store.Backuper    = (*Store)(nil)
)

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
			if n < FormatVersion { // read as it is; written in the new layout from now on
				if err := meta.Put(keyFormat, []byte(fmt.Sprint(FormatVersion))); err != nil {
					return err
				}
			}
		} else if err := meta.Put(keyFormat, []byte(fmt.Sprint(FormatVersion))); err != nil {
			return err
		}
		for _, b := range topBuckets {
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

// readSeq reads a seq kept under key in a document's bucket.
func readSeq(d *bolt.Bucket, id string, key []byte) (int64, error) {
	v := d.Get(key)
	if len(v) != 8 {
		return 0, store.Corrupt(fmt.Sprintf("document %s %s", id, key), fmt.Errorf("%d bytes, want 8", len(v)))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
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

// PutBPF implements store.Catalog.
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

// GetBPF implements store.Catalog.
func (s *Store) GetBPF(_ context.Context, id string) (*editor.BPF, error) {
	var b *editor.BPF
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBPFs).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("bpf %s: %w", id, store.ErrNotFound)
		}
		var err error
		b, err = store.DecodeBPF(id, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ListBPFs implements store.Catalog.
func (s *Store) ListBPFs(_ context.Context) ([]*editor.BPF, error) {
	var out []*editor.BPF
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBPFs).ForEach(func(k, v []byte) error {
			b, err := store.DecodeBPF(string(k), v)
			if err != nil {
				broken = append(broken, err)
				return nil
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Year != out[j].Year {
			return out[i].Year < out[j].Year
		}
		return out[i].Name < out[j].Name
	})
	return out, errors.Join(broken...)
}

// CreateDocument implements store.Catalog.
func (s *Store) CreateDocument(_ context.Context, doc *editor.Document) error {
	snap, info, err := store.EncodeDocument(doc)
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
		if err := putSnap(d, snap); err != nil {
			return err
		}
		for k, v := range map[string][]byte{
			string(keyInfo): info,
			string(keyHead): seqKey(doc.Seq), string(keyFirst): seqKey(doc.Seq + 1),
		} {
			if err := d.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDocuments implements store.Catalog. An entry whose listing record
// cannot be read is rebuilt from the document's snapshot when that can be
// read, and is marked Broken either way.
func (s *Store) ListDocuments(_ context.Context, bpf string) ([]store.DocInfo, error) {
	var out []store.DocInfo
	err := s.view(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketDocs)
		return docs.ForEachBucket(func(k []byte) error {
			info, known := readInfo(string(k), docs.Bucket(k))
			if bpf == "" || info.BPF == bpf || !known {
				out = append(out, info)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// ForEachBucket goes by id, and the sort is stable: ties stay by id.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Created, out[j].Created
		if a.IsZero() != b.IsZero() {
			return b.IsZero()
		}
		return a.Before(b)
	})
	return out, nil
}

// readInfo returns the listing entry of the document id, or as much of it
// as can be recovered, marked Broken; known is false when nothing but the
// id is.
func readInfo(id string, d *bolt.Bucket) (info store.DocInfo, known bool) {
	if err := json.Unmarshal(d.Get(keyInfo), &info); err == nil && info.ID == id {
		info.Broken = ""
		return info, true
	}
	if doc, err := store.DecodeSnapshot(id, getSnap(d)); err == nil {
		info = store.InfoOf(doc)
		info.Broken = "the stored listing entry could not be read; this one is rebuilt from the document's snapshot"
		return info, true
	}
	return store.DocInfo{ID: id, Broken: "the stored listing entry and the document's snapshot could not be read"}, false
}

// getSnap returns a document's stored snapshot: in its bucket (format 2),
// or under the document's own key (format 1, until it is next written).
func getSnap(d *bolt.Bucket) []byte {
	if b := d.Bucket(bucketSnap); b != nil {
		return b.Get(keySnap)
	}
	return d.Get(keySnap)
}

// putSnap stores a document's snapshot in its bucket, dropping one kept in
// the format 1 place.
func putSnap(d *bolt.Bucket, snap []byte) error {
	b, err := d.CreateBucketIfNotExists(bucketSnap)
	if err != nil {
		return err
	}
	if err := b.Put(keySnap, snap); err != nil {
		return err
	}
	if d.Get(keySnap) != nil {
		return d.Delete(keySnap)
	}
	return nil
}

func docBucket(tx *bolt.Tx, id string) (*bolt.Bucket, error) {
	d := tx.Bucket(bucketDocs).Bucket([]byte(id))
	if d == nil {
		return nil, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	return d, nil
}

// LoadSnapshot implements store.DocLog.
func (s *Store) LoadSnapshot(_ context.Context, id string) (*editor.Document, error) {
	var doc *editor.Document
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		// json.Unmarshal copies what it keeps: nothing refers to bbolt's
		// memory after the transaction.
		doc, err = store.DecodeSnapshot(id, getSnap(d))
		return err
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// PutSnapshot implements store.DocLog.
func (s *Store) PutSnapshot(_ context.Context, doc *editor.Document, keep int) error {
	snap, info, err := store.EncodeDocument(doc)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, doc.ID)
		if err != nil {
			return err
		}
		// The seq of the snapshot in place, from its small info record
		// (written with it) rather than by parsing the whole snapshot.
		var old struct {
			ID  string `json:"id"`
			Seq int64  `json:"seq"`
		}
		err = json.Unmarshal(d.Get(keyInfo), &old)
		if err == nil && old.ID != doc.ID {
			err = fmt.Errorf("snapshot names document %q", old.ID)
		}
		if err != nil {
			return store.Corrupt(fmt.Sprintf("document %s snapshot", doc.ID), err)
		}
		if doc.Seq <= old.Seq {
			return nil
		}
		head, err := readSeq(d, doc.ID, keyHead)
		if err != nil {
			return err
		}
		if doc.Seq > head {
			return fmt.Errorf("snapshot at %d is past the log head %d: %w", doc.Seq, head, store.ErrVersionConflict)
		}
		if err := putSnap(d, snap); err != nil {
			return err
		}
		if err := d.Put(keyInfo, info); err != nil {
			return err
		}
		// Drop log entries up to the snapshot, keeping the newest keep.
		first, err := readSeq(d, doc.ID, keyFirst)
		if err != nil {
			return err
		}
		cut := doc.Seq - int64(max(keep, 0)) // entries <= cut go
		if cut < first {
			return nil
		}
		// Back to First after each Delete: Next after Cursor.Delete can skip
		// a key once the page has been written in the same transaction
		// (bbolt issue #146).
		c := d.Bucket(bucketLog).Cursor()
		for k, _ := c.First(); k != nil && seqOf(k) <= cut; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return d.Put(keyFirst, seqKey(cut+1))
	})
}

// Head implements store.DocLog.
func (s *Store) Head(_ context.Context, id string) (int64, error) {
	return s.readSeq(id, keyHead)
}

// LogStart implements store.DocLog: the "first" key, kept since format 1.
func (s *Store) LogStart(_ context.Context, id string) (int64, error) {
	return s.readSeq(id, keyFirst)
}

func (s *Store) readSeq(id string, key []byte) (int64, error) {
	var seq int64
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		seq, err = readSeq(d, id, key)
		return err
	})
	return seq, err
}

// Append implements store.DocLog. Watchers of the document are told once
// the transaction has committed.
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
	last := ups[len(ups)-1].Seq
	err := s.update(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		head, err := readSeq(d, id, keyHead)
		if err != nil {
			return err
		}
		if head != expectSeq {
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
		return d.Put(keyHead, seqKey(last))
	})
	if err != nil {
		return err
	}
	s.watches.notify(id, last)
	return nil
}

// ReadUpdates implements store.DocLog.
func (s *Store) ReadUpdates(_ context.Context, id string, after int64, limit int) ([]store.Update, error) {
	var out []store.Update
	err := s.view(func(tx *bolt.Tx) error {
		d, err := docBucket(tx, id)
		if err != nil {
			return err
		}
		head, err := readSeq(d, id, keyHead)
		if err != nil {
			return err
		}
		if after >= head {
			return nil
		}
		first, err := readSeq(d, id, keyFirst)
		if err != nil {
			return err
		}
		if after+1 < first {
			return fmt.Errorf("document %s keeps updates from %d, asked after %d: %w", id, first, after, store.ErrCompacted)
		}
		c := d.Bucket(bucketLog).Cursor()
		want := after + 1
		for k, v := c.Seek(seqKey(want)); want <= head && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			if k == nil || seqOf(k) != want {
				return store.Corrupt(fmt.Sprintf("document %s update %d", id, want), errors.New("missing from the log"))
			}
			var u store.Update
			// json.Unmarshal copies what it keeps (RawMessage included), so
			// nothing refers to bbolt's memory after the transaction.
			err := json.Unmarshal(v, &u)
			if err == nil && u.Seq != want {
				err = fmt.Errorf("entry numbered %d", u.Seq)
			}
			if err != nil {
				return store.Corrupt(fmt.Sprintf("document %s update %d", id, want), err)
			}
			out = append(out, u)
			want++
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

// Close implements store.Store. It ends every watch first, waiting for
// calls in progress to return, so it must not be called from a watcher.
func (s *Store) Close() error {
	s.watches.close()
	return s.db.Close()
}

// setFormat overwrites the format marker; for tests of old and new files.
func (s *Store) setFormat(v string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte(v)) })
}
