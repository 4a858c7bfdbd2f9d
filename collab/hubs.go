package collab

import (
	"context"
	"errors"
	"sync"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// hubRegistry holds the hubs of loaded documents.
type hubRegistry struct {
	mu   sync.Mutex
	hubs map[string]*Hub
	wg   sync.WaitGroup
}

// hub returns the running hub of a document, starting one if needed.
func (s *Server) hub(id string) (*Hub, error) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	if s.shuttingDown.Load() {
		return nil, errors.New("shutting down")
	}
	if h := s.reg.hubs[id]; h != nil {
		return h, nil
	}
	h := newHub(s, id)
	s.reg.hubs[id] = h
	s.reg.wg.Add(1)
	go func() {
		defer s.reg.wg.Done()
		h.run()
	}()
	return h, nil
}

// removeHub forgets a hub that is exiting, unless a newer one took its place.
func (s *Server) removeHub(h *Hub) {
	s.reg.mu.Lock()
	if s.reg.hubs[h.id] == h {
		delete(s.reg.hubs, h.id)
	}
	s.reg.mu.Unlock()
}

// currentDocument returns the document as clients see it: from its hub when
// it is loaded, otherwise from the store (snapshot plus log).
func (s *Server) currentDocument(ctx context.Context, id string) (*editor.Document, error) {
	s.reg.mu.Lock()
	h := s.reg.hubs[id]
	s.reg.mu.Unlock()
	if h != nil {
		select {
		case <-h.loaded:
			if h.loadErr == nil {
				if d := h.published.Load(); d != nil {
					return d.Clone(), nil
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	doc, _, err := loadDocument(ctx, s.store, id)
	return doc, err
}

// BeginShutdown starts draining: it is called when the HTTP server begins
// its shutdown (http.Server.RegisterOnShutdown), because connections that
// were hijacked for websockets are not part of that shutdown. Every hub
// finishes its append in flight, writes a snapshot and tells its clients
// to reconnect.
func (s *Server) BeginShutdown() {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	if s.shuttingDown.Swap(true) {
		return
	}
	for _, h := range s.reg.hubs {
		close(h.stop)
	}
}

// Shutdown drains every hub (see BeginShutdown) and waits until they have
// exited or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.BeginShutdown()
	done := make(chan struct{})
	go func() {
		s.reg.wg.Wait()
		s.stopPoller()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errHubGone is returned when a document's hub exited while a request was
// waiting for it; the request may be retried.
var errHubGone = errors.New("document closed while the request waited")

// structure adds a custom section to a document through its hub, so that
// it is ordered with the live edits, and returns it once durable.
func (s *Server) structure(ctx context.Context, id, title, text string) (*editor.Section, error) {
	for range 3 {
		h, err := s.hub(id)
		if err != nil {
			return nil, err
		}
		req := &structureReq{title: title, text: text, reply: make(chan structureReply, 1)}
		if !h.send(ctx, hubMsg{kind: msgStructure, structure: req}) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			select {
			case <-h.loaded:
				if h.loadErr != nil {
					return nil, h.loadErr
				}
			default:
			}
			continue
		}
		select {
		case rep := <-req.reply:
			if errors.Is(rep.err, errHubGone) {
				continue
			}
			return rep.section, rep.err
		case <-h.done:
			if h.loadErr != nil {
				return nil, h.loadErr
			}
			select {
			case rep := <-req.reply:
				return rep.section, rep.err
			default:
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil, errHubGone
}

type structureReq struct {
	title, text string
	reply       chan structureReply
}

type structureReply struct {
	section *editor.Section
	err     error
}

// LoadDocument reads a document's current state from a store: its latest
// snapshot with the log after it replayed. Tools use it on a data
// directory that no server has open.
func LoadDocument(ctx context.Context, st store.Store, id string) (*editor.Document, error) {
	doc, _, err := loadDocument(ctx, st, id)
	return doc, err
}
