package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
)

func use(cpus float64, cores int) CPUUse {
	return CPUUse{Cores: cores, CPUs: cpus, Fraction: cpus / float64(cores), Saturated: cpus/float64(cores) > saturatedAbove}
}

func measured(gen CPUUse, server *CPUUse, machineCores int, busy float64, skipped, held int64) *Result {
	res := &Result{Generator: gen, MachineCores: machineCores, MachineBusy: busy, MachineSaturated: busy > saturatedAbove,
		Edits: 30000 - skipped - held, Skipped: skipped, Held: held, Confirm: &Latency{Count: 10, P50ms: 7, P99ms: 847, Maxms: 900},
		Broadcast: &Latency{Count: 90, P50ms: 8, P99ms: 848, Maxms: 901}}
	if server != nil {
		res.ServerUse = &ServerUse{PID: 1, CPUUse: *server}
	}
	return res
}

func TestGeneratorLimit(t *testing.T) {
	server := func(cpus float64) *CPUUse { u := use(cpus, 2); return &u }
	for _, tc := range []struct {
		name string
		res  *Result
		want []string // each a part of one reason, in order; none: not limited
	}{
		{"issue 8's run: a heavy generator, skipped edits, a full machine",
			measured(use(1.29, 2), server(0.52), 2, 0.99, 2105, 0),
			[]string{"2105 of 30000 edits skipped", "99% busy", "1.29 cores, more than the server's 0.52"}},
		{"a light generator on a quiet machine", measured(use(0.30, 2), server(0.52), 2, 0.45, 0, 0), nil},
		{"edits held for confirmations are the server's pace", measured(use(0.30, 2), server(0.9), 2, 0.7, 0, 40), nil},
		{"as heavy as the server (one process)", measured(use(0.5, 2), server(0.5), 2, 0.6, 0, 0), nil},
		{"heavier than the server", measured(use(0.51, 2), server(0.5), 2, 0.6, 0, 0), []string{"0.51 cores, more than the server's 0.50"}},
		{"skipped edits alone", measured(use(0.2, 2), server(0.5), 2, 0.4, 31, 0), []string{"31 of 30000 edits skipped"}},
		{"one skipped edit in a thousand", measured(use(0.2, 2), server(0.5), 2, 0.4, 30, 0), nil},
		{"a full machine alone", measured(use(0.2, 2), server(0.5), 2, 0.86, 0, 0), []string{"86% busy"}},
		{"the generator's own cores full", measured(use(0.9, 1), server(1.0), 2, 0.8, 0, 0), []string{"90% of its 1 cores"}},
		{"no server pid: lighter than the rest of the machine", measured(use(0.5, 2), nil, 2, 0.6, 0, 0), nil},
		{"no server pid: heavier than the rest of the machine", measured(use(0.7, 2), nil, 2, 0.6, 0, 0),
			[]string{"0.70 cores, more than the rest of the machine together (0.50"}},
		{"nothing to compare with", measured(use(0.1, 2), nil, 0, 0, 0, 0), []string{"neither the server's CPU"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := generatorLimit(tc.res)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q; want %d reasons like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("reason %d: got %q; want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestLimitedRunReportsNoLatency: a generator-limited result keeps its
// latencies out of the figures, in text and JSON, and says why.
func TestLimitedRunReportsNoLatency(t *testing.T) {
	res := measured(use(1.29, 2), &CPUUse{Cores: 2, CPUs: 0.52}, 2, 0.99, 2105, 0)
	res.judge()
	if !res.GeneratorLimited || res.Confirm != nil || res.Broadcast != nil || res.Discarded == nil || res.Discarded.Broadcast.P99ms != 848 {
		t.Fatalf("judged: limited %v, confirm %v, broadcast %v, discarded %+v", res.GeneratorLimited, res.Confirm, res.Broadcast, res.Discarded)
	}
	var sb strings.Builder
	res.WriteText(&sb)
	text := sb.String()
	if !strings.Contains(text, "latency not reported: the generator was the limit (2105 of 30000 edits skipped") || strings.Contains(text, "p99") || strings.Contains(text, "848") {
		t.Errorf("text of a generator-limited run:\n%s", text)
	}
	data, _ := json.Marshal(res)
	var m map[string]any
	json.Unmarshal(data, &m)
	if m["generator_limited"] != true || m["confirm"] != nil || m["broadcast"] != nil || m["discarded_latency"] == nil || m["generator_limit"] == nil {
		t.Errorf("JSON of a generator-limited run: %s", data)
	}

	res = measured(use(0.3, 2), &CPUUse{Cores: 2, CPUs: 0.52}, 2, 0.45, 0, 0)
	res.judge()
	sb.Reset()
	res.WriteText(&sb)
	if res.GeneratorLimited || res.Discarded != nil || !strings.Contains(sb.String(), "broadcast latency: p50 8.00 ms  p99 848.00 ms") {
		t.Errorf("a run that measured the server: limited %v, discarded %v\n%s", res.GeneratorLimited, res.Discarded, sb.String())
	}
}
