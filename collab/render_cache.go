package collab

import (
	"container/list"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bpfdraft/bpfdraft/editor"
)

// renderCache keeps the rendered body of each section of the documents
// people read, so that a version is rendered once and then served to
// every reader: the reading view, previews and exports assemble the
// document from cached bodies (editor.Assemble), and only a section whose
// text changed since is rendered again. An entry is valid for one version
// of one section (checked against the text and paragraph ids too, so a
// document reloaded from the store finds its entries); a newer version
// replaces it. Least recently used entries go when the cache holds more
// than max bytes.
//
// # Concurrency
//
// Safe for concurrent use. Requests for a section version being rendered
// wait for that render instead of starting their own.
type renderCache struct {
	max int

	mu      sync.Mutex
	size    int
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     list.List                  // most recent first
	flights map[cacheKey]*renderFlight

	renders atomic.Int64 // section bodies rendered, for tests
}

type cacheKey struct{ doc, section string }

type cacheEntry struct {
	key     cacheKey
	version int
	text    string
	paras   []string
	body    *editor.SectionBody
}

// renderFlight is a render in progress; done is closed when body is set.
type renderFlight struct {
	version int
	text    string
	done    chan struct{}
	body    *editor.SectionBody
}

func newRenderCache(max int) *renderCache {
	return &renderCache{max: max, entries: map[cacheKey]*list.Element{}, flights: map[cacheKey]*renderFlight{}}
}

// render renders doc from cached section bodies, rendering those missing.
func (c *renderCache) render(doc *editor.Document) *editor.Rendered {
	bodies := make([]*editor.SectionBody, len(doc.Sections))
	for i := range doc.Sections {
		bodies[i] = c.body(doc.ID, &doc.Sections[i])
	}
	return editor.Assemble(doc, bodies)
}

func (c *renderCache) body(docID string, s *editor.Section) *editor.SectionBody {
	key := cacheKey{docID, s.ID}
	c.mu.Lock()
	if el := c.entries[key]; el != nil {
		e := el.Value.(*cacheEntry)
		if e.version == s.Version && e.text == s.Text && slices.Equal(e.paras, s.Paras) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.body
		}
	}
	if f := c.flights[key]; f != nil && f.version == s.Version && f.text == s.Text {
		c.mu.Unlock()
		<-f.done
		return f.body
	}
	f := &renderFlight{version: s.Version, text: s.Text, done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	f.body = editor.RenderBody(s)
	c.renders.Add(1)
	close(f.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	if el := c.entries[key]; el != nil {
		old := el.Value.(*cacheEntry)
		if old.version > s.Version {
			return f.body // a newer version got there first
		}
		c.remove(el)
	}
	e := &cacheEntry{key: key, version: s.Version, text: s.Text, paras: slices.Clone(s.Paras), body: f.body}
	c.entries[key] = c.lru.PushFront(e)
	c.size += e.cost()
	for c.size > c.max && c.lru.Len() > 1 {
		c.remove(c.lru.Back())
	}
	return f.body
}

func (c *renderCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	c.size -= e.cost()
}

// cost counts the body and the text it was made from; the text is shared
// with the document, but may outlive it here.
func (e *cacheEntry) cost() int { return e.body.Size() + len(e.text) + 8*len(e.paras) + 128 }
