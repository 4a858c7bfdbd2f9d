// Package editor is the pure core of bpfdraft: the document model and its
// templates, the collaborative text change algebra, markdown rendering and
// diffs between versions.
//
// It does no I/O, starts no goroutines and reads no clock: everything it
// needs, including the current time where a rule depends on it, is passed
// in. A test (TestNoIOImports) keeps network, storage and websocket packages
// out of it.
package editor
