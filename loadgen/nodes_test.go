package loadgen

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

func TestCheckServers(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}},
		{"http://127.0.0.1:8081,http://127.0.0.1:8082", []string{"http://127.0.0.1:8081", "http://127.0.0.1:8082"}},
		{" http://127.0.0.1:8081 , http://[::1]:8082/,http://localhost:8083", []string{"http://127.0.0.1:8081", "http://[::1]:8082/", "http://localhost:8083"}},
	} {
		us, err := CheckServers(t.Context(), tc.list)
		if err != nil {
			t.Errorf("CheckServers(%q): %v", tc.list, err)
			continue
		}
		var got []string
		for _, u := range us {
			got = append(got, u.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("CheckServers(%q) = %q; want %q", tc.list, got, tc.want)
		}
	}
	for _, list := range []string{
		"http://127.0.0.1:8081,http://10.0.0.1:8082",
		"http://192.0.2.7,http://127.0.0.1:8080",
		"http://127.0.0.1:8081, http://0.0.0.0:8082",
	} {
		if _, err := CheckServers(t.Context(), list); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckServers(%q): got %v; want ErrNotLoopback", list, err)
		}
	}
	for _, list := range []string{
		"",
		",",
		"http://127.0.0.1:8081,",
		"http://127.0.0.1:8081,,http://127.0.0.1:8082",
		"http://127.0.0.1:8081,http://127.0.0.1:8081/",
		"http://127.0.0.1:8081,127.0.0.1:8082",
		"http://127.0.0.1:8081,ftp://127.0.0.1:8082",
	} {
		if us, err := CheckServers(t.Context(), list); err == nil {
			t.Errorf("CheckServers(%q) = %v; want an error", list, us)
		}
	}
}

func TestParsePIDs(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []int
	}{
		{"", nil},
		{"  ", nil},
		{"42", []int{42}},
		{"42,7, 99 ", []int{42, 7, 99}},
	} {
		got, err := ParsePIDs(tc.list)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePIDs(%q) = %v, %v; want %v", tc.list, got, err, tc.want)
		}
	}
	for _, list := range []string{"x", "0", "-3", "42,", "42,,7", "42,42", "4 2", "1.5"} {
		if got, err := ParsePIDs(list); err == nil {
			t.Errorf("ParsePIDs(%q) = %v; want an error", list, got)
		}
	}
}

// TestServerPIDsMatchServers: process ids, when given, are one per server.
func TestServerPIDsMatchServers(t *testing.T) {
	for _, c := range []Config{
		{Server: "http://127.0.0.1:1,http://127.0.0.1:2", ServerPIDs: []int{os.Getpid()}},
		{Server: "http://127.0.0.1:1", ServerPIDs: []int{os.Getpid(), os.Getpid()}},
		{Server: "http://127.0.0.1:1,http://127.0.0.1:2", ServerPID: os.Getpid()},
	} {
		if _, err := Run(t.Context(), c); err == nil || !strings.Contains(err.Error(), "process ids") {
			t.Errorf("Run(%+v): got %v; want an error about the process ids", c, err)
		}
	}
	if _, err := (Config{ServerPID: 1, ServerPIDs: []int{2}}).withDefaults(); err == nil {
		t.Error("ServerPID and ServerPIDs both set: got no error")
	}
}

func TestSpread(t *testing.T) {
	r := &run{cfg: Config{Editors: 7, Viewers: 5}, bases: []string{"a", "b", "c"}}
	// Connections 0..6 are editors, 7..11 viewers; k goes to server k%3.
	for i, want := range [][2]int{{3, 1}, {2, 2}, {2, 2}} {
		if e, v := r.editorsOn(i), r.viewersOn(i); e != want[0] || v != want[1] {
			t.Errorf("server %d: %d editors, %d viewers; want %d, %d", i, e, v, want[0], want[1])
		}
	}
	one := &run{cfg: Config{Editors: 7, Viewers: 5}, bases: []string{"a"}}
	if e, v := one.editorsOn(0), one.viewersOn(0); e != 7 || v != 5 {
		t.Errorf("one server: %d editors, %d viewers; want all 7 and 5", e, v)
	}
}

// TestRunSpread runs over two addresses of one server, as if they were two
// nodes: connections alternate between them, each is measured, and the
// run converges as on one.
func TestRunSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s load run")
	}
	env := collabtest.New(t, collab.Config{})
	port := env.URL[strings.LastIndexByte(env.URL, ':'):]
	servers := []string{env.URL, "http://localhost" + port}
	cfg := Config{
		Server: strings.Join(servers, ","), Email: env.Account.Email, Password: env.Password,
		Editors: 5, EditorSample: 2, Rate: 10, Viewers: 7, ViewerSample: 3,
		Duration: 2 * time.Second, ServerPIDs: []int{os.Getpid(), os.Getpid()}, Logf: t.Logf,
	}
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	res.WriteText(&sb)
	t.Logf("seed %d\n%s", res.Seed, sb.String())
	if !res.Converged {
		t.Errorf("not converged: %s", res.ConvergeNote)
	}
	if res.Edits == 0 || res.Confirmed != res.Edits || res.Committed != res.Edits {
		t.Errorf("edits %d, confirmed %d, committed %d; want all equal and positive", res.Edits, res.Confirmed, res.Committed)
	}
	if res.Server != cfg.Server {
		t.Errorf("result server %q; want %q", res.Server, cfg.Server)
	}
	if len(res.Nodes) != 2 {
		t.Fatalf("%d nodes reported; want 2", len(res.Nodes))
	}
	var deliveries int64
	for i, n := range res.Nodes {
		// Editors 0..4 and viewers 5..11 alternate: 3+3 on the first, 2+4 on the second.
		wantE, wantV := []int{3, 2}[i], []int{3, 4}[i]
		if n.Server != servers[i] || n.Editors != wantE || n.Viewers != wantV {
			t.Errorf("node %d: %s with %d editors, %d viewers; want %s with %d, %d", i, n.Server, n.Editors, n.Viewers, servers[i], wantE, wantV)
		}
		if n.Process == nil || n.Process.PID != os.Getpid() || n.Process.RSSBefore <= 0 || n.Process.RSSEnd <= 0 {
			t.Errorf("node %d: process %+v; want this process measured", i, n.Process)
		}
		deliveries += n.Deliveries
	}
	if deliveries != res.Deliveries {
		t.Errorf("nodes' deliveries sum to %d; the run's are %d", deliveries, res.Deliveries)
	}
	if s := res.ServerUse; s == nil || s.PID != 0 || s.RSSBefore != res.Nodes[0].Process.RSSBefore+res.Nodes[1].Process.RSSBefore {
		t.Errorf("server use %+v; want the sum of the nodes'", s)
	}
	for _, want := range []string{"node " + servers[0] + ": 3 editors, 3 viewers", "node " + servers[1] + ": 2 editors, 4 viewers", "2 nodes together"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("text output lacks %q", want)
		}
	}
}
