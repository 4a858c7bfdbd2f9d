package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
)

// TestBackupCommand: a backup taken through a running server while it
// serves, and one taken from a data directory no server uses, each open
// as a data directory holding the document; the server refuses a backup
// to anyone but the Secretariat, and a failed backup leaves no file.
func TestBackupCommand(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	acct := addAccount(t, bin, data)
	p := startServer(t, bin, data)
	s := p.signIn(t, acct)
	var doc struct{ ID string }
	doJSON(t, s, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Kept safe"}, 201, &doc)

	getenv := func(k string) string {
		if k == passwordEnv {
			return acct.Password
		}
		return ""
	}
	check := func(path string) {
		t.Helper()
		dir := t.TempDir()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, boltstore.FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := boltstore.Open(dir, time.Second)
		if err != nil {
			t.Fatalf("the backup does not open: %v", err)
		}
		defer st.Close()
		if d, err := st.LoadSnapshot(context.Background(), doc.ID); err != nil || d.Title != "Kept safe" {
			t.Fatalf("the backup's document: %v, %v", d, err)
		}
		if _, err := st.AccountByEmail(context.Background(), acct.Email); err != nil {
			t.Fatalf("the backup's account: %v", err)
		}
	}
	out := filepath.Join(t.TempDir(), "copy.db")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"backup", "--server", p.url(""), "--email", acct.Email, "--out", out}, nil, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("backup through the server: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote "+out) {
		t.Fatalf("backup said %q", stdout.String())
	}
	check(out)
	// Anonymous: refused, and no file is left.
	refused := filepath.Join(t.TempDir(), "no.db")
	stderr.Reset()
	if code := run(t.Context(), []string{"backup", "--server", p.url(""), "--out", refused}, nil, &stdout, &stderr, getenv); code != 1 || !strings.Contains(stderr.String(), "401") {
		t.Fatalf("anonymous backup: exit %d\n%s", code, stderr.String())
	}
	if entries, _ := os.ReadDir(filepath.Dir(refused)); len(entries) != 0 {
		t.Fatalf("a refused backup left %v", entries)
	}
	// From the data directory, once the server has stopped.
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "local.db")
	if code := run(t.Context(), []string{"backup", "--data", data, "--out", local}, nil, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("backup of the data directory: exit %d\n%s", code, stderr.String())
	}
	check(local)
}
