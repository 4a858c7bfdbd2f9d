package loadgen

import (
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s load run")
	}
	env := collabtest.New(t, collab.Config{})
	cfg := Config{
		Server: env.URL, Email: env.Account.Email, Password: env.Password, Editors: 5, EditorSample: 2, Rate: 20, Viewers: 20, ViewerSample: 10,
		Duration: 2 * time.Second, ServerPID: os.Getpid(), Logf: t.Logf,
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
	if len(res.Errors) > 0 || res.Disconnects > 0 {
		t.Errorf("errors %v, disconnects %d; want none", res.Errors, res.Disconnects)
	}
	// Nothing lost and nothing doubled.
	if res.Edits == 0 || res.Confirmed != res.Edits || res.Committed != res.Edits {
		t.Errorf("edits %d, confirmed %d, committed %d; want all equal and positive", res.Edits, res.Confirmed, res.Committed)
	}
	if res.CommittedPerS < 0.5*res.Offered {
		t.Errorf("committed %.1f/s of %.0f/s offered; want at least half", res.CommittedPerS, res.Offered)
	}
	// Latencies are reported unless the generator was the limit (a busy
	// machine), and are then discarded; either way they were measured.
	// Their values depend on the machine and are not checked.
	confirm, bcast := res.Confirm, res.Broadcast
	switch {
	case res.GeneratorLimited && (confirm != nil || bcast != nil || res.Discarded == nil):
		t.Fatalf("generator-limited (%v) but latencies %v %v reported, discarded %v", res.GeneratorLimit, confirm, bcast, res.Discarded)
	case res.GeneratorLimited:
		t.Logf("generator-limited: %v", res.GeneratorLimit)
		confirm, bcast = &res.Discarded.Confirm, &res.Discarded.Broadcast
	case confirm == nil || bcast == nil:
		t.Fatalf("latencies %v %v not reported although the generator was not the limit", confirm, bcast)
	}
	for name, l := range map[string]*Latency{"confirm": confirm, "broadcast": bcast} {
		if l.Count == 0 || l.P50ms <= 0 || l.P99ms < l.P50ms || l.Maxms < l.P99ms {
			t.Errorf("%s latency %+v; want samples with 0 < p50 <= p99 <= max", name, *l)
		}
	}
	// Every sampled editor but its author and every sampled viewer
	// measures each measured edit.
	full := uint64(cfg.EditorSample + cfg.ViewerSample)
	if lo, hi := confirm.Count*(full-1), confirm.Count*full; bcast.Count < lo || bcast.Count > hi {
		t.Errorf("broadcast samples %d; want between %d and %d (confirm samples × sampled receivers)", bcast.Count, lo, hi)
	}
	if res.ServerUse == nil || res.ServerUse.RSSBefore <= 0 || res.ServerUse.RSSEnd <= 0 {
		t.Errorf("server use %+v; want RSS measured", res.ServerUse)
	}
	if res.Generator.Cores <= 0 || res.Generator.CPUs <= 0 {
		t.Errorf("generator use %+v; want CPU measured", res.Generator)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, server := range []string{"http://10.0.0.1:8080", "http://192.0.2.7", "https://[2001:db8::1]:443", "http://0.0.0.0:8080"} {
		_, err := Run(t.Context(), Config{Server: server, Duration: time.Second})
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Run(%s): got %v; want ErrNotLoopback", server, err)
		}
	}
	for _, server := range []string{"", "ftp://127.0.0.1", "127.0.0.1:8080"} {
		if _, err := Run(t.Context(), Config{Server: server, Duration: time.Second}); err == nil {
			t.Errorf("Run(%q): got no error", server)
		}
	}
	for _, server := range []string{"http://127.0.0.1:1", "http://[::1]:8080", "http://localhost:8080"} {
		if _, err := CheckServer(t.Context(), server); err != nil {
			t.Errorf("CheckServer(%s): %v; want it accepted", server, err)
		}
	}
}

func TestConfigBounds(t *testing.T) {
	for _, c := range []Config{
		{Duration: MaxDuration + time.Second},
		{Editors: MaxConnections, Viewers: 1},
		{Rate: MaxRate + 1},
		{Editors: -1},
		{Duration: time.Second, Warmup: time.Second},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v: got no error", c)
		}
	}
}

// TestTypingBoundaries checks that random typing keeps texts valid: every
// change starts and ends on a character boundary and applies to the text.
func TestTypingBoundaries(t *testing.T) {
	seed := testseed.Seed(t)
	ty := typing{rng: rand.New(rand.NewPCG(seed, 0)), targetUnits: 200}
	text := "😀a😀\n\nééé 漢"
	for i := range 5000 {
		ch := ty.edit(text)
		ok := map[int]bool{0: true}
		n := 0
		for _, r := range text {
			n += len(utf16.Encode([]rune{r}))
			ok[n] = true
		}
		for _, c := range ch {
			if !ok[c.From] || !ok[c.To] || c.From > c.To {
				t.Fatalf("edit %d: change %+v of %q is not between characters", i, c, text)
			}
		}
		cs, err := editor.ChangeSetOf(ch, editor.UTF16Len(text))
		if err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
		if text, err = cs.Apply(text); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	if n := editor.UTF16Len(text); n > 400 {
		t.Errorf("text grew to %d units; want it held near the 200 target", n)
	}
}

func TestHistogram(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	var s summary
	s.merge(&h)
	for _, q := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := s.quantile(q.q)
		if d := got - q.want; d < -q.want/25 || d > q.want/25 {
			t.Errorf("quantile(%g) = %v; want %v within 4%%", q.q, got, q.want)
		}
	}
	if s.max != int64(time.Millisecond) {
		t.Errorf("max %d; want %d", s.max, time.Millisecond)
	}
	for v := int64(0); v < 1<<20; v += 1 + v/7 {
		if m := bucketMid(bucketOf(v)); m < v-v/16 || m > v+v/16 {
			t.Fatalf("value %d: bucket middle %d", v, m)
		}
	}
}

// BenchmarkOneDocument runs a load against an in-process server, so that
// `go test -bench OneDocument -cpuprofile` profiles the server's hub and
// the clients together (the server has no profiling endpoint). The shape
// comes from BPFDRAFT_BENCH_EDITORS, _EDITOR_SAMPLE, _RATE, _VIEWERS,
// _SECTIONS and _SECONDS; BPFDRAFT_BENCH_HEAPPROFILE names a file for a heap profile
// taken once the viewers are connected.
func BenchmarkOneDocument(b *testing.B) {
	env := func(name string, def float64) float64 {
		if v, err := strconv.ParseFloat(os.Getenv("BPFDRAFT_BENCH_"+name), 64); err == nil {
			return v
		}
		return def
	}
	cfg := Config{
		Editors: int(env("EDITORS", 50)), Rate: env("RATE", 5), Viewers: int(env("VIEWERS", 0)),
		Sections: int(env("SECTIONS", 1)), Duration: time.Duration(env("SECONDS", 5) * float64(time.Second)),
		EditorSample: int(env("EDITOR_SAMPLE", 20)),
		// Server and generator are this one process: their CPU is the same.
		ServerPID: os.Getpid(),
	}
	if name := os.Getenv("BPFDRAFT_BENCH_HEAPPROFILE"); name != "" {
		cfg.afterViewers = func() {
			f, err := os.Create(name)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.Logf("after viewers: heap in use %d KiB, stacks %d KiB, goroutines %d", ms.HeapInuse>>10, ms.StackInuse>>10, runtime.NumGoroutine())
			if err := pprof.WriteHeapProfile(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		srv := collabtest.New(b, collab.Config{})
		cfg.Server, cfg.Email, cfg.Password = srv.URL, srv.Account.Email, srv.Password
		res, err := Run(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Converged {
			b.Errorf("not converged: %s", res.ConvergeNote)
		}
		b.ReportMetric(res.CommittedPerS, "committed/s")
		if res.GeneratorLimited {
			b.Logf("latency not reported: %v", res.GeneratorLimit)
			continue
		}
		b.ReportMetric(res.Confirm.P99ms, "confirm-p99-ms")
		b.ReportMetric(res.Broadcast.P99ms, "broadcast-p99-ms")
	}
}
