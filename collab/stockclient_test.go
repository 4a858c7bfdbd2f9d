package collab_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

// TestStockClientCannotCorrupt runs real @codemirror/collab clients that
// speak the protocol from docs/protocol.md (frontend/tools/stock-clients.mjs)
// on the recorded case where receiving a batch of updates in one
// receiveUpdates call leaves a client's text different from the server's:
// that client's next push is refused as diverged and the connection
// closed for a resync, so its edits never land in the wrong place; the
// same client receiving one update at a time is accepted, with the
// server's text.
func TestStockClientCannotCorrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node with the real CodeMirror packages; the full test run does")
	}
	for _, tc := range []struct {
		mode, outcome string
	}{{"batch", collab.CodeDiverged}, {"one", "accepted"}} {
		t.Run(tc.mode, func(t *testing.T) {
			e := collabtest.New(t, collab.Config{})
			d := e.CreateDoc(t, "bpf-output", "Stock clients")
			cmd := nodeScript(t, "stock-clients.mjs", e.URL, d.ID, tc.mode)
			cmd.Env = append(os.Environ(), "BPFDRAFT_COOKIE="+e.Cookie)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("stock clients: %v\n%s", err, out)
			}
			var res struct {
				Outcome, Kind, Client string
				CloseCode             int
				Pushed                int
				Before                int64 // the seq before the last push
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			doc, _ := e.Server.CurrentDocument(t.Context(), d.ID)
			server := doc.Section("issues").Text
			switch {
			case res.Outcome != tc.outcome:
				t.Fatalf("outcome %s; want %s (%s)", res.Outcome, tc.outcome, out)
			case tc.mode == "batch" && (res.Kind != "resync" || res.CloseCode != collab.CloseResync || server == res.Client):
				t.Fatalf("the diverged client: kind %s, close %d; its text equals the server's: %v", res.Kind, res.CloseCode, server == res.Client)
			case tc.mode == "one" && server != res.Client:
				t.Fatalf("the client receiving one update at a time holds\n%q\nthe server\n%q", res.Client, server)
			}
			if tc.mode == "batch" && doc.Seq != res.Before {
				t.Fatalf("the document is at seq %d; the refused push must add nothing to the %d before it", doc.Seq, res.Before)
			}
		})
	}
}

// nodeScript runs a script of frontend/tools with the frontend's npm
// packages (installed by the test command).
// It is killed if it runs for more than a minute.
func nodeScript(t *testing.T, script string, args ...string) *exec.Cmd {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if parent := filepath.Dir(root); parent != root {
			root = parent
		} else {
			t.Fatal("no go.mod above the test's directory")
		}
	}
	if _, err := os.Stat(filepath.Join(root, "frontend", "node_modules", "@codemirror", "collab")); err != nil {
		t.Fatalf("frontend/node_modules is missing (%v): run `npm ci --prefix frontend` before go test", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run real CodeMirror clients: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, append([]string{"--experimental-websocket", "--no-warnings", filepath.Join("frontend", "tools", script)}, args...)...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	return cmd
}
