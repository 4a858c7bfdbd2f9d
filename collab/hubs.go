package collab

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// hubRegistry holds the hubs of loaded documents.
type hubRegistry struct {
	mu   sync.Mutex
	hubs map[string]*Hub
	wg   sync.WaitGroup
}

// errShuttingDown: the server is stopping and starts no hub.
var errShuttingDown = errors.New("the server is shutting down")

// hub returns the running hub of a document, starting one if needed.
func (s *Server) hub(id string) (*Hub, error) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	if s.shuttingDown.Load() {
		return nil, errShuttingDown
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

// loadedHub returns the hub of a document once it has loaded it, or why
// it could not.
func (s *Server) loadedHub(ctx context.Context, id string) (*Hub, error) {
	h, err := s.hub(id)
	if err != nil {
		return nil, err
	}
	select {
	case <-h.loaded:
		if h.loadErr != nil {
			return nil, h.loadErr
		}
		return h, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// removeHub forgets a hub that is exiting, unless a newer one took its place.
func (s *Server) removeHub(h *Hub) {
	s.reg.mu.Lock()
	if s.reg.hubs[h.id] == h {
		delete(s.reg.hubs, h.id)
	}
	s.reg.mu.Unlock()
}

// currentDocument returns the durable document: from its hub when it is
// loaded, otherwise from the store (snapshot plus log). It is the
// caller's to modify.
func (s *Server) currentDocument(ctx context.Context, id string) (*editor.Document, error) {
	s.reg.mu.Lock()
	h := s.reg.hubs[id]
	s.reg.mu.Unlock()
	if h != nil {
		select {
		case <-h.loaded:
			if h.loadErr == nil {
				return h.published.Load().Clone(), nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return LoadDocument(ctx, s.store, id)
}

// revokeAccount closes the websockets of an account in every loaded
// document: it was removed from a team or signed out everywhere, and
// connections keep the role they opened with.
func (s *Server) revokeAccount(account string) {
	s.reg.mu.Lock()
	hubs := make([]*Hub, 0, len(s.reg.hubs))
	for _, h := range s.reg.hubs {
		hubs = append(hubs, h)
	}
	s.reg.mu.Unlock()
	for _, h := range hubs {
		h.send(revokeMsg{account: account}, nil)
	}
}

// BeginShutdown starts draining: it is called when the HTTP server begins
// its shutdown (http.Server.RegisterOnShutdown), because connections that
// were hijacked for websockets are not part of that shutdown. Every hub
// stores what it accepted, writes a snapshot and tells its clients to
// reconnect.
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
// exited and every client they told to reconnect has been sent that
// message and the close frame, or until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.BeginShutdown()
	done := make(chan struct{})
	go func() {
		s.reg.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := s.transport.Flushed(ctx)
	s.transport.Close()
	return err
}

// errHubGone is returned when a document's hub exited before it took a
// request; the request may be tried again.
var errHubGone = errors.New("document closed while the request waited")

// do runs a command on a document's authority, as the server acting for
// someone (an API call, an accepted suggestion), and returns its outcome
// once its updates are durable. It is ordered with the live edits, and
// its updates reach every open editor like any other.
func (s *Server) do(ctx context.Context, id string, cmd authority.Command) (authority.Outcome, error) {
	for range 3 {
		h, err := s.loadedHub(ctx, id)
		if err != nil {
			return authority.Outcome{}, err
		}
		reply := make(chan doReply, 1)
		if !h.send(doMsg{cmd: cmd, reply: reply}, ctx.Done()) {
			if ctx.Err() != nil {
				return authority.Outcome{}, ctx.Err()
			}
			continue // the hub exited: a new one loads the document
		}
		select {
		case r := <-reply:
			if errors.Is(r.err, errHubGone) {
				continue
			}
			return r.out, r.err
		case <-ctx.Done():
			// The command may still be stored; the caller cannot know.
			return authority.Outcome{}, ctx.Err()
		}
	}
	return authority.Outcome{}, errHubGone
}

// query runs fn with the document's authority on its hub's goroutine
// (loading the document if it is not), to read what only the authority
// holds (the comments).
func (s *Server) query(ctx context.Context, id string, fn func(*authority.Authority)) error {
	for range 3 {
		h, err := s.loadedHub(ctx, id)
		if err != nil {
			return err
		}
		reply := make(chan bool, 1)
		if !h.send(queryMsg{fn: fn, reply: reply}, ctx.Done()) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		select {
		case ran := <-reply:
			if ran {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errHubGone
}

// LoadDocument reads a document's current state from a store: its latest
// snapshot with the log after it replayed. Tools use it on a data
// directory that no server has open.
func LoadDocument(ctx context.Context, st store.DocLog, id string) (*editor.Document, error) {
	doc, err := st.LoadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	ups, err := st.ReadUpdates(ctx, id, doc.Seq, 0)
	if err != nil {
		return nil, err
	}
	for _, u := range ups {
		if _, err := authority.Replay(doc, u); err != nil {
			return nil, fmt.Errorf("load document: %w", err)
		}
	}
	doc.Annotations = nil // the comments are the authority's, as of the snapshot only
	return doc, nil
}
