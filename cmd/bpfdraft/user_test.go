package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/loadgen"
)

// TestUserCommand: accounts made on the command line, the password read
// from standard input and never from the arguments.
func TestUserCommand(t *testing.T) {
	data := t.TempDir()
	st, err := boltstore.Open(data, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutBPF(context.Background(), &editor.BPF{ID: "bpf-1", Name: "Gender", Year: 2026, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"a long password\n", []string{"user", "add", "--data", data, "--email", "Sam@Example.org", "--name", "Sam", "--role", "secretariat"}, 0, "created the account of Sam <sam@example.org> (secretariat)"},
		{"another password\n", []string{"user", "add", "--data", data, "--email", "sam@example.org", "--name", "Sam 2", "--role", "secretariat"}, 1, "already exists"},
		{"", []string{"user", "add", "--data", data, "--email", "x@example.org", "--name", "X", "--role", "secretariat"}, 2, "read from standard input"},
		{"short\n", []string{"user", "add", "--data", data, "--email", "x@example.org", "--name", "X", "--role", "secretariat"}, 1, "at least 10 characters"},
		{"a long password\n", []string{"user", "add", "--data", data, "--email", "x@example.org", "--name", "X", "--role", "co-facilitator"}, 2, "--bpf is required"},
		{"a long password\n", []string{"user", "add", "--data", data, "--email", "x@example.org", "--name", "X", "--role", "co-facilitator", "--bpf", "nope"}, 1, "not found"},
		{"a long password\n", []string{"user", "add", "--data", data, "--email", "chen@example.org", "--name", "Chen", "--role", "co-facilitator", "--bpf", "bpf-1"}, 0, "(co-facilitator)"},
		{"a long password\n", []string{"user", "add", "--data", data, "--email", "x@example.org", "--name", "X", "--role", "king"}, 2, "--role"},
		{"", []string{"user", "frob"}, 2, "unknown user command"},
	} {
		code, out, errs := runCLI(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want exit %d mentioning %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	code, out, _ := runCLI(t, "", "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "sam@example.org") || !strings.Contains(out, "co-facilitator of bpf-1") || strings.Contains(out, "password") {
		t.Fatalf("user list: %d\n%s", code, out)
	}
}

// TestHelpListsCommands: bpfdraft --help lists every command.
func TestHelpListsCommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, _ := runCLI(t, "", arg)
		for _, cmd := range []string{"serve", "import", "export", "user add|list", "load", "version"} {
			if code != 0 || !strings.Contains(out, "\n  "+cmd) {
				t.Errorf("%s: exit %d, no %q in\n%s", arg, code, cmd, out)
			}
		}
	}
}

// syncBuffer is a buffer the server writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveOnce runs serve on a fresh port until the test ends and returns
// its address and what it printed by the time it listened.
func serveOnce(t *testing.T, c serveConfig) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, out, ready) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case addr := <-ready:
		return addr, out.String()
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, out)
	case <-time.After(time.Minute):
		t.Fatal("serve did not listen within a minute")
	}
	return "", ""
}

func testServeConfig(data string, demo bool) serveConfig {
	return serveConfig{Addr: "127.0.0.1:0", DataDir: data, LogFormat: "json", MaxBodyBytes: 1 << 20, ShutdownTimeout: 10 * time.Second, Demo: demo}
}

// TestFirstStartPrintsSetupLink: a server with no Secretariat prints a
// one-time link that makes the first one; with one, it prints none.
func TestFirstStartPrintsSetupLink(t *testing.T) {
	data := t.TempDir()
	addr, out := serveOnce(t, testServeConfig(data, false))
	m := regexp.MustCompile(`http://` + regexp.QuoteMeta(addr) + `(/join/[A-Za-z0-9_-]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no setup link in\n%s", out)
	}
	resp, err := http.Get("http://" + addr + m[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Set up bpfdraft") {
		t.Fatalf("setup link: %d", resp.StatusCode)
	}
}

// TestServeDemo: --demo prints one account per role, with which each
// signs in, and no setup link (the demo has a Secretariat).
func TestServeDemo(t *testing.T) {
	addr, out := serveOnce(t, testServeConfig(t.TempDir(), true))
	lines := regexp.MustCompile(`(?m)^\s+(\S+)\s+(\S+@demo\.bpfdraft\.invalid)\s+password (\S+)$`).FindAllStringSubmatch(out, -1)
	if len(lines) != 4 || strings.Contains(out, "/join/") {
		t.Fatalf("demo output:\n%s", out)
	}
	for _, l := range lines {
		if _, err := loadgen.SignIn(t.Context(), nil, "http://"+addr, l[2], l[3]); err != nil {
			t.Errorf("sign in as the demo %s: %v", l[1], err)
		}
	}
}
