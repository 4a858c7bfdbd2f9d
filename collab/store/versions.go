package store

import (
	"context"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

// VersionInfo names a kept version of a document.
type VersionInfo struct {
	Doc  string `json:"doc"`
	Seq  int64  `json:"seq"`
	Name string `json:"name"`
	// Created is when the version was kept.
	Created time.Time `json:"created"`
}

// Versions keeps named versions of documents: the document as it was at
// a seq (the version opened for public comment, the final output), kept
// whole and never compacted away.
//
// Every method is safe for concurrent use. A method that returns nil has
// made its effect durable before returning; a method that returns an error
// has changed nothing.
type Versions interface {
	// PutVersion keeps doc (as of doc.Seq) under name. Keeping the same
	// seq again replaces its name; the document itself must be the same.
	PutVersion(ctx context.Context, doc *editor.Document, name string, now time.Time) error
	// GetVersion returns the document as kept at seq, or ErrNotFound.
	GetVersion(ctx context.Context, id string, seq int64) (*editor.Document, error)
	// ListVersions returns the versions kept of a document, oldest first.
	ListVersions(ctx context.Context, id string) ([]VersionInfo, error)
}
