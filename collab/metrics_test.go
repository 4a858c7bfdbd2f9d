package collab_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
)

// scrape gets /metrics (with the token, unless empty) and parses it.
func scrape(t *testing.T, e *collabtest.Env, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", e.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d; want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the value of the metric name with the labels given as
// name=value pairs (a counter's, a gauge's, or a histogram's count).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// errorCodes returns a client option that passes the codes of the
// server's error messages to a channel.
func errorCodes(codes chan<- string) func(*client.Options) {
	return func(o *client.Options) {
		o.OnError = func(e *client.ServerError) {
			select {
			case codes <- e.Code:
			default:
			}
		}
	}
}

// TestMetrics: after edits from two editors (one viewer watching) and
// two comments, /metrics counts the connections by role, the updates
// made durable, the appends and their times, the comments and the
// document loaded; a connection that leaves is no longer counted.
func TestMetrics(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Metrics")
	ctx := waitCtx(t)
	confirmed := 0 // updates confirmed to a, under a's lock
	a := e.Dial(t, d.ID, "writer-a", func(o *client.Options) {
		o.OnUpdate = func(u client.Update, own bool) {
			if own {
				confirmed++
			}
		}
	})
	b := e.Dial(t, d.ID, "writer-b")
	e.Dial(t, d.ID, "viewer", func(o *client.Options) { o.Viewer = true })
	for _, word := range []string{"one ", "two ", "three "} {
		if err := a.Edit("issues", insertAt(0, word)); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Edit("issues", insertAt(0, "b ")); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	base := "/api/documents/" + d.ID + "/comments"
	e.PostJSON(t, base, map[string]string{"section": "issues", "text": "A first note."}, 201, nil)
	e.PostJSON(t, base, map[string]string{"section": "issues", "text": "A second note."}, 201, nil)

	fams := scrape(t, e, "")
	var mine int
	a.Locked(func(int64, map[string]string) { mine = confirmed })
	if mine < 3 {
		t.Fatalf("a saw %d of its updates confirmed; want 3", mine)
	}
	for _, c := range []struct {
		name   string
		labels []string
		ok     func(float64) bool
		want   string
	}{
		{"bpfdraft_connections", []string{"role=editor"}, func(v float64) bool { return v == 2 }, "2"},
		{"bpfdraft_connections", []string{"role=viewer"}, func(v float64) bool { return v == 1 }, "1"},
		{"bpfdraft_updates_committed_total", nil, func(v float64) bool { return v >= float64(mine+1) }, "at least the updates confirmed"},
		{"bpfdraft_commits_total", nil, func(v float64) bool { return v >= 4 }, "at least 4 (one per confirmed edit)"},
		{"bpfdraft_commit_seconds", nil, func(v float64) bool { return v >= 4 }, "a count of at least 4"},
		{"bpfdraft_comments_total", nil, func(v float64) bool { return v == 2 }, "2"},
		{"bpfdraft_documents_loaded", nil, func(v float64) bool { return v >= 1 }, "at least 1"},
		{"bpfdraft_store_errors_total", []string{"op=append"}, func(v float64) bool { return v == 0 }, "0"},
		{"bpfdraft_fanout_dropped_total", nil, func(v float64) bool { return v == 0 }, "0"},
		{"bpfdraft_version_conflicts_total", nil, func(v float64) bool { return v == 0 }, "0"},
	} {
		if v := value(t, fams, c.name, c.labels...); !c.ok(v) {
			t.Errorf("%s%v = %v; want %s", c.name, c.labels, v, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go runtime and process collectors are missing", name)
		}
	}

	// a leaves: b is told once the hub has let it go, and it is no
	// longer counted.
	a.Close()
	if err := b.WaitFor(ctx, func(c *client.Client) bool { _, ok := c.Peers()[a.ID()]; return !ok }); err != nil {
		t.Fatal(err)
	}
	if v := value(t, scrape(t, e, ""), "bpfdraft_connections", "role=editor"); v != 1 {
		t.Fatalf("editors after one left: %v; want 1", v)
	}
}

// TestMetricsToken: with a token configured, /metrics answers only a
// request that bears it; the other routes are as before.
func TestMetricsToken(t *testing.T) {
	const token = "metrics-token-of-the-operator"
	e := collabtest.New(t, collab.Config{MetricsToken: token})
	for _, auth := range []string{"", "Bearer wrong-token", "Basic " + token, token} {
		req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := e.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /metrics with Authorization %q: status %d; want 401", auth, resp.StatusCode)
		}
	}
	if fams := scrape(t, e, token); fams["bpfdraft_commits_total"] == nil {
		t.Fatal("the metrics lack bpfdraft_commits_total")
	}
	if status, body := e.Call(t, "GET", "/healthz", "", ""); status != 200 {
		t.Fatalf("GET /healthz: %d %s", status, body)
	}
}

// TestMetricsStoreError: an append the store fails is counted (and
// timed); the document unloads and its connection is no longer counted.
func TestMetricsStoreError(t *testing.T) {
	var faulty *storetest.Faulty
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Wrap: func(st store.Store) store.Store {
		faulty = storetest.NewFaulty(st)
		return faulty
	}})
	d := e.CreateDoc(t, "bpf-output", "Faults")
	ctx := waitCtx(t)
	codes := make(chan string, 4)
	a := e.Dial(t, d.ID, "writer-a", errorCodes(codes))
	faulty.Next(storetest.OpAppend, storetest.Fault{Err: errors.New("disk on fire")})
	if err := a.Edit("issues", insertAt(0, "lost")); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitFor(ctx, func(c *client.Client) bool { return c.Closed() }); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != collab.CodeUnavailable {
			t.Fatalf("the client was told %q; want %q", code, collab.CodeUnavailable)
		}
	default:
		t.Fatal("the client was closed without an error message")
	}
	fams := scrape(t, e, "")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bpfdraft_store_errors_total", []string{"op=append"}, 1},
		{"bpfdraft_store_errors_total", []string{"op=snapshot"}, 0},
		{"bpfdraft_commit_seconds", nil, 1},
		{"bpfdraft_commits_total", nil, 0},
		{"bpfdraft_updates_committed_total", nil, 0},
		{"bpfdraft_connections", []string{"role=editor"}, 0},
		{"bpfdraft_documents_loaded", nil, 0},
	} {
		if v := value(t, fams, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, v, c.want)
		}
	}
}

// TestDrainReadyz: once the server starts draining, /readyz answers 503
// (a load balancer sends no new clients) and an open client is told
// shutting_down and closed.
func TestDrainReadyz(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Drain")
	ctx := waitCtx(t)
	if status, body := e.Call(t, "GET", "/readyz", "", ""); status != 200 {
		t.Fatalf("GET /readyz before the drain: %d %s; want 200", status, body)
	}
	codes := make(chan string, 4)
	c := e.Dial(t, d.ID, "writer", errorCodes(codes))
	e.Server.BeginShutdown()
	if status, body := e.Call(t, "GET", "/readyz", "", ""); status != http.StatusServiceUnavailable || !strings.Contains(string(body), collab.CodeShuttingDown) {
		t.Fatalf("GET /readyz while draining: %d %s; want 503 %s", status, body, collab.CodeShuttingDown)
	}
	if err := c.WaitFor(ctx, func(c *client.Client) bool { return c.Closed() }); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != collab.CodeShuttingDown {
			t.Fatalf("the client was told %q; want %q", code, collab.CodeShuttingDown)
		}
	default:
		t.Fatal("the client was closed without an error message")
	}
}
