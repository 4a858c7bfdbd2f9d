package collab_test

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
)

// TestBackupEndpoint: the Secretariat downloads a copy of the store, its
// length announced and recorded in the audit log; no one else may; a
// store that cannot copy itself says how to back it up instead.
func TestBackupEndpoint(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	resp := e.Do(t, "GET", "/api/backup", "", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) == 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="bpfdraft-`) {
		t.Fatalf("backup: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	var log struct {
		Entries []struct{ Action, Detail string }
	}
	e.GetJSON(t, "/api/audit?action=backup", 200, &log)
	if len(log.Entries) != 1 || log.Entries[0].Detail != strconv.Itoa(len(body))+" bytes" {
		t.Fatalf("the audit log of the backup: %+v", log.Entries)
	}
	if status, _ := e.NewPerson(t, access.Public, "").Call(t, "GET", "/api/backup", "", ""); status != 403 {
		t.Fatalf("a backup by a member of the public: %d", status)
	}
	if status, _ := e.Anonymous().Call(t, "GET", "/api/backup", "", ""); status != 401 {
		t.Fatalf("a backup by someone not signed in: %d", status)
	}
	f := collabtest.New(t, collab.Config{}, collabtest.Options{Wrap: func(s store.Store) store.Store { return storetest.NewFaulty(s) }})
	if status, body := f.Call(t, "GET", "/api/backup", "", ""); status != 501 || !strings.Contains(string(body), "Redis") {
		t.Fatalf("a backup of a store that cannot copy itself: %d %s", status, body)
	}
}
