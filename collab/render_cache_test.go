package collab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

// TestRenderCacheBounded: the cache drops least recently used sections
// beyond its size and still renders correctly.
func TestRenderCacheBounded(t *testing.T) {
	c := newRenderCache(4 << 10)
	for i := range 50 {
		doc := &editor.Document{ID: fmt.Sprint(i), Title: "T", Sections: []editor.Section{{ID: "s", Title: "S", Text: strings.Repeat("word ", 200)}}}
		doc.AssignParagraphIDs()
		if r := c.render(doc); !strings.Contains(r.Sections[0].HTML, "word") {
			t.Fatal("render from the cache lost the text")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size > c.max || c.lru.Len() != len(c.entries) {
		t.Errorf("cache holds %d bytes in %d entries (%d listed); want at most %d", c.size, len(c.entries), c.lru.Len(), c.max)
	}
}
