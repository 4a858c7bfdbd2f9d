package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProbeReadyServer: probe succeeds against a real server, found by
// --url or, as in the container, by the server's own BPFDRAFT_ADDR with
// the unspecified host 0.0.0.0.
func TestProbeReadyServer(t *testing.T) {
	addr, _ := serveOnce(t, testServeConfig(t.TempDir(), false))
	if code, _, errs := runCLI(t, "", "probe", "--url", "http://"+addr+"/readyz"); code != 0 {
		t.Errorf("probe --url: exit %d, stderr %q; want exit 0", code, errs)
	}
	_, port, _ := net.SplitHostPort(addr)
	env := map[string]string{"BPFDRAFT_ADDR": "0.0.0.0:" + port}
	if code, _, errs := runCLIEnv(t, env, "", "probe"); code != 0 {
		t.Errorf("probe with BPFDRAFT_ADDR=%s: exit %d, stderr %q; want exit 0", env["BPFDRAFT_ADDR"], code, errs)
	}
}

// TestProbeFails: a server that is not ready, a path that is not there
// and an address nobody listens on all fail the probe with exit 1 and
// say why; a wrong call is exit 2.
func TestProbeFails(t *testing.T) {
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "storage is not usable", http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"probe", "--url", notReady.URL + "/readyz"}, 1, "503"},
		{[]string{"probe", "--addr", notReady.Listener.Addr().String()}, 1, "503"},
		{[]string{"probe", "--url", notReady.URL + "/elsewhere"}, 1, "404"},
		{[]string{"probe", "--addr", freeAddr(t)}, 1, "refused"},
		{[]string{"probe", "--addr", "8080"}, 2, "--addr"},
		{[]string{"probe", "now"}, 2, "no arguments"},
	} {
		code, _, errs := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestProbeHost(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"0.0.0.0:8080", "127.0.0.1:8080"},
		{":8080", "127.0.0.1:8080"},
		{"[::]:8080", "[::1]:8080"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"10.1.2.3:8080", "10.1.2.3:8080"},
		{"node1:8080", "node1:8080"},
	} {
		if got, err := probeHost(tc.addr); err != nil || got != tc.want {
			t.Errorf("probeHost(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
}

func TestHelpListsProbe(t *testing.T) {
	if code, out, _ := runCLI(t, "", "help"); code != 0 || !strings.Contains(out, "\n  probe ") {
		t.Errorf("help: exit %d, no probe in\n%s", code, out)
	}
}
