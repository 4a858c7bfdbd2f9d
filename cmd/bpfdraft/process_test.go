package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/loadgen"
)

// buildBinary builds the real bpfdraft binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bpfdraft-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bpfdraft")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running bpfdraft server process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan error
}

// startServer starts the binary on a free loopback port with the data
// directory and waits until it listens.
func startServer(t *testing.T, bin, data string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BPFDRAFT_LOG_LEVEL=debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteString(line + "\n")
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bpfdraft listening" {
				addrc <- strings.TrimPrefix(rec.Addr, "http://")
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addrc:
	case err := <-p.done:
		t.Fatalf("server exited before listening: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start listening in 30s\n%s", p.logs)
	}
	return p
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

// stop sends sig and waits for the process to exit, returning its error.
func (p *proc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not exit within 30s of %v\n%s", sig, p.logs)
		return nil
	}
}

// doJSON makes a request in session s (the zero Session: anonymous),
// checks its status and decodes the answer into out (unless nil).
func doJSON(t *testing.T, s loadgen.Session, method, url string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = s.Header()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d; want %d\n%s", method, url, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, data)
		}
	}
}

// TestBinarySurvivesSIGTERM starts the real binary, creates a document over
// HTTP, stops it with SIGTERM and finds the document after a restart.
func TestBinarySurvivesSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	acct := addAccount(t, bin, data)
	p := startServer(t, bin, data)
	doJSON(t, loadgen.Session{}, "GET", p.url("/healthz"), nil, 200, nil)
	doJSON(t, loadgen.Session{}, "GET", p.url("/readyz"), nil, 200, nil)
	// Nothing is created without signing in.
	doJSON(t, loadgen.Session{}, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Anonymous"}, 401, nil)
	s := p.signIn(t, acct)

	var bpf struct{ ID string }
	doJSON(t, s, "POST", p.url("/api/bpfs"), map[string]any{"name": "Cybersecurity", "year": 2026, "meeting_date": "2026-06-22"}, 201, &bpf)
	var doc struct {
		ID       string
		Title    string
		Sections []struct{ ID string }
	}
	doJSON(t, s, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "BPF Cybersecurity 2026 output", "bpf": bpf.ID}, 201, &doc)
	if len(doc.Sections) != 10 {
		t.Fatalf("new bpf-output document has %d sections; want 10", len(doc.Sections))
	}

	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; want a clean exit\n%s", err, p.logs)
	}
	if !strings.Contains(p.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no graceful stop in the log:\n%s", p.logs)
	}

	p2 := startServer(t, bin, data)
	s2 := p2.signIn(t, acct)
	var got struct {
		ID, Title, BPF string
		Sections       []struct{ ID string }
	}
	doJSON(t, s2, "GET", p2.url("/api/documents/"+doc.ID), nil, 200, &got)
	if got.Title != doc.Title || got.BPF != bpf.ID || len(got.Sections) != 10 {
		t.Fatalf("after restart: %+v; want the document created before SIGTERM", got)
	}
	var list struct{ Documents []struct{ ID string } }
	doJSON(t, s2, "GET", p2.url("/api/documents?bpf="+bpf.ID), nil, 200, &list)
	if len(list.Documents) != 1 || list.Documents[0].ID != doc.ID {
		t.Fatalf("listing after restart: %+v", list)
	}
	if err := p2.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, p2.logs)
	}
}

// TestDataDirInUse: a second server on the same data directory fails with
// a message that says why, instead of hanging or corrupting the file.
func TestDataDirInUse(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	startServer(t, bin, data)
	out, err := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data).CombinedOutput()
	if err == nil {
		t.Fatalf("second server on the same data directory started; want an error")
	}
	if !strings.Contains(string(out), "another bpfdraft") {
		t.Fatalf("second server said %q; want it to name the other process", out)
	}
}

// TestSIGTERMDrainsClients: SIGTERM with an editing client connected
// tells the client shutting_down and closes it, and the process exits 0
// within its shutdown timeout. The edit the client had not seen confirmed
// was either stored or is pushed again on reconnecting to the restarted
// server: every word is in the text exactly once. The metrics of the
// real binary answer only with the token given in the environment.
func TestSIGTERMDrainsClients(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	acct := addAccount(t, bin, data)
	const token = "token-of-the-scraper"
	t.Setenv("BPFDRAFT_METRICS_TOKEN", token)
	p := startServer(t, bin, data, "--addr", addr, "--shutdown-timeout", "20s")
	s := p.signIn(t, acct)
	var doc struct{ ID string }
	doJSON(t, s, "POST", p.url("/api/documents"), map[string]any{"template": "bpf-output", "title": "Drain"}, 201, &doc)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard against hanging only
	defer cancel()
	codes := make(chan string, 8)
	c, err := client.Dial(ctx, "http://"+p.addr, doc.ID, client.Options{Key: "drain-writer-key-0123", Header: s.SocketHeader(),
		OnError: func(e *client.ServerError) {
			select {
			case codes <- e.Code:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	edit := func(word string) {
		t.Helper()
		err := c.Edit("issues", func(text string) []editor.Change {
			n := editor.UTF16Len(text)
			return []editor.Change{{From: n, To: n, Insert: word}}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	edit("confirmed ")
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}

	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", p.url("/metrics"), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without the token: %d; want 401", status)
	}
	status, body := scrape("Bearer " + token)
	if status != http.StatusOK || !strings.Contains(body, `bpfdraft_connections{role="editor"} 1`) {
		t.Fatalf("GET /metrics with the token: %d; want 200 counting one editor:\n%s", status, body)
	}

	edit("unconfirmed ") // may or may not be stored before the drain
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; want 0\n%s", err, p.logs)
	}
	if err := c.WaitFor(ctx, func(c *client.Client) bool { return c.Closed() }); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != "shutting_down" {
			t.Fatalf("the client was told %q; want shutting_down", code)
		}
	default:
		t.Fatalf("the client was closed without being told why (%v)\n%s", c.Err(), p.logs)
	}

	p2 := startServer(t, bin, data, "--addr", addr)
	if err := c.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	var got struct{ Sections []struct{ ID, Text string } }
	doJSON(t, s, "GET", p2.url("/api/documents/"+doc.ID), nil, 200, &got)
	for _, sec := range got.Sections {
		if sec.ID != "issues" {
			continue
		}
		if sec.Text != "confirmed unconfirmed " {
			t.Fatalf("after the restart the section holds %q; want each edit once", sec.Text)
		}
	}
}
