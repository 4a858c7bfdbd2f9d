package collab

import (
	"context"

	"github.com/bpfdraft/bpfdraft/editor"
)

// What the external tests (package collab_test) may see of the inside.

// CurrentDocument is currentDocument.
func (s *Server) CurrentDocument(ctx context.Context, id string) (*editor.Document, error) {
	return s.currentDocument(ctx, id)
}

// HubLoaded reports whether a document has a hub.
func (s *Server) HubLoaded(id string) bool {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.hubs[id] != nil
}

// Polling reports whether the server's poller has started.
func (s *Server) Polling() bool { return s.transport.Polling() }

// Renders counts the sections rendered so far.
func (s *Server) Renders() int64 { return s.render.renders.Load() }
