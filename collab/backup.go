package collab

import (
	"fmt"
	"net/http"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// backup streams a consistent copy of the store (the Secretariat), for a
// store that can write one while in use (bbolt); others are backed up
// with their own server's tools.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	b, ok := s.store.(store.Backuper)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server's store is not a file it can copy (Redis): back it up with Redis's own persistence and tools, as docs/operations.md says")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="bpfdraft-%s.db"`, s.now().UTC().Format("20060102-150405")))
	w.Header().Set("Cache-Control", "no-store")
	n, err := b.Backup(r.Context(), w, func(size int64) { w.Header().Set("Content-Length", fmt.Sprint(size)) })
	if err != nil {
		// The status is sent: the client sees a short body (and the
		// command checks what it wrote), the log says why.
		s.log.Error("backup", "err", err, "bytes", n)
		return
	}
	s.audit(r.Context(), r, "backup", "", "", fmt.Sprintf("%d bytes", n))
}
