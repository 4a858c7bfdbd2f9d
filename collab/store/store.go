package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Errors a store returns, wrapped with context; check them with errors.Is.
var (
	// ErrNotFound: nothing stored under that id (a BPF, a document, an
	// account, a membership, a session, an invitation).
	ErrNotFound = errors.New("not found")
	// ErrExists: something with that id (or an account with that email) is
	// already stored.
	ErrExists = errors.New("already exists")
	// ErrVersionConflict: Append was called with an expected sequence number
	// that is not the document's current one; nothing was written.
	ErrVersionConflict = errors.New("version conflict")
	// ErrBusy: Append was refused, though it expected the right head,
	// because another writer sharing the store has the turn to append
	// next (it met a version conflict and is taking in what it missed).
	// Nothing was written. The caller waits until the log moves (its
	// Notifier says so) or a short while, then tries again. Only a store
	// shared by several processes answers it.
	ErrBusy = errors.New("another writer has the turn to append")
	// ErrCompacted: the updates asked for are older than the log keeps; the
	// caller should start from the latest snapshot instead.
	ErrCompacted = errors.New("updates compacted")
	// ErrCorrupt: a stored record could not be decoded. The error names the
	// record (the document and "snapshot", a log entry's seq, a BPF's id);
	// other records are unaffected and still readable.
	ErrCorrupt = errors.New("stored record corrupt")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrInUse: the data is locked by another process.
	ErrInUse = errors.New("data in use by another process")
)

// Update kinds. A text update carries a ChangeSet for one section; a
// structure update changes the list of sections and carries Payload.
const (
	KindText      = ""
	KindStructure = "structure"
)

// Update is one accepted change to a document, as kept in its log.
type Update struct {
	// Seq is the document-wide sequence number, from 1, without gaps.
	Seq int64 `json:"seq"`
	// Section and Version: the section changed and its version after this
	// update (its count of accepted updates). Empty for structure updates.
	Section string `json:"section,omitempty"`
	Version int    `json:"version,omitempty"`
	// ClientID names the connection that pushed the update; Author the
	// person behind it.
	ClientID string `json:"client"`
	Author   string `json:"author,omitempty"`
	Kind     string `json:"kind,omitempty"`
	// Changes is the CodeMirror ChangeSet JSON of a text update.
	Changes json.RawMessage `json:"changes,omitempty"`
	// Payload describes a structure update.
	Payload json.RawMessage `json:"payload,omitempty"`
	Time    time.Time       `json:"time"`
	// Check is editor.Checksum of the section's text after a text update,
	// so that a replay can prove it rebuilt the same text and a push at
	// this version can be checked against it. Absent in logs written
	// before it was kept.
	Check *uint32 `json:"check,omitempty"`
	// Inverse is the ChangeSet JSON that undoes a text update (it holds
	// what the update deleted), so that the text at any version the log
	// keeps can be rebuilt from a later one. Absent in logs written before
	// it was kept.
	Inverse json.RawMessage `json:"inverse,omitempty"`
	// Paras is the section's list of paragraph ids after a text update
	// that changed it, and Merged the ids merged away (as clients receive
	// them), so that catching up from the log tells clients everything
	// the live broadcast did.
	Paras  []string          `json:"paras,omitempty"`
	Merged map[string]string `json:"merged,omitempty"`
}

// DocInfo is the summary of a document used in listings.
type DocInfo struct {
	ID       string    `json:"id"`
	BPF      string    `json:"bpf,omitempty"`
	Template string    `json:"template"`
	Title    string    `json:"title"`
	Seq      int64     `json:"seq"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Broken is empty for a sound entry. Otherwise it says, in words fit
	// for a person, why the entry could not be read in full; ID is always
	// set and the other fields are those that could be recovered (often
	// none). The document itself may or may not load.
	Broken string `json:"broken,omitempty"`
}

// InfoOf returns the listing summary of a document.
func InfoOf(d *editor.Document) DocInfo {
	return DocInfo{ID: d.ID, BPF: d.BPF, Template: d.Template, Title: d.Title, Seq: d.Seq, Created: d.Created, Updated: d.Updated}
}

// Catalog keeps the BPFs and the listing of documents.
//
// Every method is safe for concurrent use. A method that returns nil has
// made its effect durable before returning; a method that returns an error
// has changed nothing.
type Catalog interface {
	// PutBPF stores a new BPF; ErrExists if its id is taken.
	PutBPF(ctx context.Context, b *editor.BPF) error
	// GetBPF returns the BPF with the id; ErrNotFound if there is none,
	// ErrCorrupt if its record cannot be read.
	GetBPF(ctx context.Context, id string) (*editor.BPF, error)
	// ListBPFs returns every readable BPF, ordered by year then name. When
	// some records cannot be read it returns the readable ones all the same
	// together with an error wrapping ErrCorrupt for each unreadable one
	// (joined with errors.Join, each naming its BPF): a caller may serve the
	// list and log the error. Any other error comes with a nil list.
	ListBPFs(ctx context.Context) ([]*editor.BPF, error)

	// CreateDocument stores a new document as its first snapshot, with an
	// empty log after doc.Seq (so Head is doc.Seq and LogStart doc.Seq+1);
	// ErrExists if its id is taken.
	CreateDocument(ctx context.Context, doc *editor.Document) error
	// ListDocuments returns the documents of one BPF, or of all BPFs when
	// bpf is empty, oldest first; titles and seqs are those of each
	// document's latest snapshot. One unreadable entry never fails the
	// listing: it is listed with Broken set and the fields that could be
	// recovered. An entry whose BPF is unknown is in every listing, since it
	// may belong to any; entries whose creation time is unknown come last,
	// by id.
	ListDocuments(ctx context.Context, bpf string) ([]DocInfo, error)
}

// DocLog keeps each document's latest snapshot and its log of updates.
//
// Sequence numbers are per document: the log holds updates numbered
// without gaps from LogStart to Head; the snapshot is the document as of
// some seq S with LogStart-1 <= S <= Head, so replaying the updates after S
// onto it gives the document at Head. Updates at or before S may still be
// kept (for history and catch-up) until PutSnapshot drops them.
//
// Every method is safe for concurrent use. A method that returns nil has
// made its effect durable before returning; a method that returns an error
// has changed nothing. Each method on a document that was never created
// returns ErrNotFound; a record of it that cannot be decoded (the snapshot,
// the head, a log entry) is ErrCorrupt naming the record.
type DocLog interface {
	// LoadSnapshot returns the latest snapshot of the document, or
	// ErrNotFound, or ErrCorrupt if it cannot be decoded. Updates after
	// snapshot.Seq are read with ReadUpdates.
	LoadSnapshot(ctx context.Context, id string) (*editor.Document, error)
	// PutSnapshot replaces the latest snapshot when doc.Seq is newer than
	// the stored one (an older or equal one is ignored and nil returned) and
	// drops the log entries the snapshot covers except the newest keep of
	// them (keep < 0 counts as 0): afterwards LogStart is the larger of its
	// old value and doc.Seq-keep+1. doc.Seq must not be past the log's
	// head: that is ErrVersionConflict.
	PutSnapshot(ctx context.Context, doc *editor.Document, keep int) error

	// Head returns the document's current sequence number: the Seq of the
	// last update appended, or of its first snapshot when there is none.
	Head(ctx context.Context, id string) (int64, error)
	// LogStart returns the seq of the oldest update the log keeps, so that
	// ReadUpdates(ctx, id, first-1, limit) reads every kept update, those at
	// or before the latest snapshot's seq included. When the log keeps none
	// (a new document, or everything compacted) first is Head+1. It only
	// grows, and only through PutSnapshot; a later ReadUpdates may therefore
	// find it moved and answer ErrCompacted, which the caller meets by
	// asking again.
	LogStart(ctx context.Context, id string) (first int64, err error)
	// Append adds updates to the document's log atomically, if and only if
	// the log's head is expectSeq; they must be numbered expectSeq+1,
	// expectSeq+2, ... Otherwise it returns ErrVersionConflict and writes
	// nothing. Of several appends at the same expectSeq, exactly one can
	// succeed. The updates are durable when it returns nil. Appending no
	// updates does nothing and returns nil. A store shared by several
	// writers may refuse an append at the right head with ErrBusy.
	Append(ctx context.Context, id string, expectSeq int64, ups []Update) error
	// ReadUpdates returns up to limit updates (all, when limit <= 0) with
	// Seq > after, in order and without gaps; none when after >= Head. When
	// some of them are no longer kept (after+1 < LogStart) it returns
	// ErrCompacted; when one cannot be decoded, ErrCorrupt naming its seq.
	ReadUpdates(ctx context.Context, id string, after int64, limit int) ([]Update, error)
}

// Store is everything bpfdraft keeps: the catalog, the documents' logs,
// the people (accounts, their sessions and invitations), the audit log and
// the published versions of documents.
// Backends (bbolt for one node, Redis for several) implement it and pass
// the conformance suite storetest.Run.
type Store interface {
	Catalog
	DocLog
	Accounts
	Sessions
	Invitations
	Audit
	Versions

	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// Backuper is a store that writes a consistent copy of itself while in
// use (bbolt: its file as of one read transaction). It is optional:
// callers find it with a type assertion, st.(store.Backuper). A store
// without it (Redis) is backed up with its server's own tools.
type Backuper interface {
	// Backup writes the copy to w and returns the bytes written. When
	// size is not nil it is told, before the first byte, how many bytes
	// the copy will have.
	Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
}

// Notifier tells watchers that a document's log has grown: "document D
// reached seq V". A backend shared by several engines (Redis across nodes,
// or one bbolt file shared by engines in one process) implements it so
// that an engine learns of updates another one appended. It is optional:
// callers find it with a type assertion, st.(store.Notifier).
//
// A notification is a wake-up, not data: the log is the truth. Delivery is
// at most once and may be late, coalesced (several appends told as one, with
// the highest seq) or lost (a pub/sub message dropped, a connection lost),
// so a watcher reads the log after its own last seq when told, and reads
// Head now and then if it must not fall behind for long.
type Notifier interface {
	// Watch calls fn(seq) after appends to the document with the id commit
	// (through any writer sharing the backend, this one included), seq
	// being the head the log reached. Calls come from a goroutine of the
	// notifier, one at a time, each with a seq higher than the previous
	// call's; a slow fn delays only its own later calls, which are
	// coalesced meanwhile, and never blocks an appender. fn is not told of
	// appends that were refused, nor of snapshots.
	//
	// A watch covers the appends that commit after Watch returns; to miss
	// none in between, call Watch first and then read Head. Delivery ends
	// when ctx is done (no call starts after that), when stop is called, or
	// when the store is closed. stop may be called more than once; it waits
	// for a call of fn in progress to return, so after it returns fn is
	// never called again. fn must therefore not call stop or Close (cancel
	// ctx instead).
	Watch(ctx context.Context, id string, fn func(seq int64)) (stop func())
}

// Relay carries ephemeral messages among the engines serving a document
// (presence: who is where): at most once, possibly lost, never stored. A
// backend shared by several engines implements it next to Notifier; it is
// optional: callers find it with a type assertion, st.(store.Relay).
//
// A message is a few bytes the relay does not read. It reaches every
// subscriber of its document through any engine sharing the backend, the
// publisher's own included (a publisher that must not hear itself says
// who it is in the message). Messages may be lost (a subscriber too slow
// to take them, a pub/sub connection lost); those of one publisher, each
// published after its previous Publish returned, arrive in that order.
type Relay interface {
	// Publish sends msg to the subscribers of the document with the id.
	// It returns once the backend has taken the message, not once it is
	// delivered; an error means it was not sent.
	Publish(ctx context.Context, id string, msg []byte) error
	// Subscribe calls fn(msg) with the messages published on the document
	// with the id. It returns once the subscription is in place, so that a
	// message published after it returns reaches fn (unless lost), or when
	// ctx is done first. As with Notifier.Watch, calls come from a
	// goroutine of the relay, one at a time; fn may keep msg. A slow fn
	// delays only its own later calls, and messages it cannot take
	// meanwhile are dropped; it never blocks a publisher. Delivery ends
	// when ctx is done (no call starts after that), when stop is called,
	// or when the store is closed. stop may be called more than once; it
	// waits for a call of fn in progress to return, so after it returns fn
	// is never called again. fn must therefore not call stop or Close.
	Subscribe(ctx context.Context, id string, fn func(msg []byte)) (stop func())
}
