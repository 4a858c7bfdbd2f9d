// Package store defines how bpfdraft keeps its data: BPFs, documents as
// snapshots, and each document's log of accepted updates. Backends (bbolt
// for one node, Redis for several) implement Store and pass the same
// conformance suite, storetest.Run.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Errors a Store returns, wrapped with context; check them with errors.Is.
var (
	// ErrNotFound: no BPF or document with that id.
	ErrNotFound = errors.New("not found")
	// ErrExists: a BPF or document with that id is already stored.
	ErrExists = errors.New("already exists")
	// ErrVersionConflict: Append was called with an expected sequence number
	// that is not the document's current one; nothing was written.
	ErrVersionConflict = errors.New("version conflict")
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

// Store keeps BPFs, document snapshots and update logs. Every method is safe
// for concurrent use. A method that returns nil has made its effect durable
// (on disk, or fsynced by the server behind it) before returning; a method
// that returns an error has changed nothing. A record that cannot be
// decoded is ErrCorrupt naming the record, and stays confined to it.
type Store interface {
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
	// empty log after doc.Seq; ErrExists if its id is taken.
	CreateDocument(ctx context.Context, doc *editor.Document) error
	// ListDocuments returns the documents of one BPF, or of all BPFs when
	// bpf is empty, oldest first; titles and seqs are those of each
	// document's latest snapshot. One unreadable entry never fails the
	// listing: it is listed with Broken set and the fields that could be
	// recovered. An entry whose BPF is unknown is in every listing, since it
	// may belong to any; entries whose creation time is unknown come last,
	// by id.
	ListDocuments(ctx context.Context, bpf string) ([]DocInfo, error)
	// LoadSnapshot returns the latest snapshot of the document, or
	// ErrNotFound, or ErrCorrupt if it cannot be decoded. Updates after
	// snapshot.Seq are read with ReadUpdates.
	LoadSnapshot(ctx context.Context, id string) (*editor.Document, error)
	// PutSnapshot replaces the latest snapshot when doc.Seq is newer than
	// the stored one (an older one is ignored) and may drop log entries the
	// snapshot covers, keeping at least the newest keep of them.
	// doc.Seq must not be past the log's head.
	PutSnapshot(ctx context.Context, doc *editor.Document, keep int) error

	// Head returns the document's current sequence number: the Seq of the
	// last update appended, or of its first snapshot when there is none.
	Head(ctx context.Context, id string) (int64, error)
	// Append adds updates to the document's log atomically, if and only if
	// the log's head is expectSeq; they must be numbered expectSeq+1,
	// expectSeq+2, ... Otherwise it returns ErrVersionConflict and writes
	// nothing. The updates are durable when it returns nil.
	Append(ctx context.Context, id string, expectSeq int64, ups []Update) error
	// ReadUpdates returns up to limit updates with Seq > after, in order.
	// When some of them are no longer kept it returns ErrCompacted; when one
	// cannot be decoded, ErrCorrupt naming its seq.
	ReadUpdates(ctx context.Context, id string, after int64, limit int) ([]Update, error)

	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
}
