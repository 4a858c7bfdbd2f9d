package loadgen

import (
	"fmt"
	"strings"
)

// maxSkipped is the fraction of the edits due that may be skipped in a
// run whose latencies are reported.
const maxSkipped = 0.001

// judge decides from what was measured whether the generator, not the
// server, was the limit of the run; if so the latencies are not the
// server's and are moved to Discarded.
func (res *Result) judge() {
	res.GeneratorLimit = generatorLimit(res)
	res.GeneratorLimited = len(res.GeneratorLimit) > 0
	if res.GeneratorLimited && res.Confirm != nil && res.Broadcast != nil {
		res.Discarded = &Discarded{Confirm: *res.Confirm, Broadcast: *res.Broadcast}
		res.Confirm, res.Broadcast = nil, nil
	}
}

// generatorLimit returns why the generator was the limit of a run, or
// nothing when the run measured the server. The generator is the limit
// when
//
//   - editors fell more than maxLate behind their schedule while not
//     waiting on their connections, for more than one edit in a thousand
//     (skipped edits): the load asked for was not offered, for want of the
//     generator's goroutines getting the CPU in time. Fewer cannot decide
//     a p99, the slowest one in a hundred; edits held while an editor
//     waited for the server are the server's pace, and not counted here;
//   - the generator kept more than 85% of its cores busy;
//   - the machine was more than 85% busy: the generator took CPU the
//     server would have used, and the server's latency includes waiting
//     for it;
//   - the generator used more CPU than the server: a generator that heavy
//     on a shared machine slows the server it measures (how the 847 ms p99
//     of issue 8 came about, against 24–89 ms from a lighter generator);
//     without the server's process id (--server-pid), more than the rest
//     of the machine together, an upper bound of the server's share;
//   - neither the server's CPU nor the machine's could be measured, so the
//     generator cannot be shown to have been the lighter.
func generatorLimit(res *Result) []string {
	var why []string
	if due := res.Edits + res.Skipped + res.Held; res.Skipped > 0 && float64(res.Skipped) > maxSkipped*float64(due) {
		why = append(why, fmt.Sprintf("%d of %d edits skipped: editors fell more than %v behind their schedule", res.Skipped, due, maxLate))
	}
	if g := res.Generator; g.Saturated {
		why = append(why, fmt.Sprintf("the generator kept %.0f%% of its %d cores busy", 100*g.Fraction, g.Cores))
	}
	if res.MachineSaturated {
		why = append(why, fmt.Sprintf("the machine was %.0f%% busy: the generator took CPU the server needed", 100*res.MachineBusy))
	}
	g := res.Generator.CPUs
	switch {
	case res.ServerUse != nil:
		if s := res.ServerUse.CPUs; g > s {
			why = append(why, fmt.Sprintf("the generator used %.2f cores, more than the server's %.2f", g, s))
		}
	case res.MachineCores > 0:
		if rest := res.MachineBusy*float64(res.MachineCores) - g; g > rest {
			why = append(why, fmt.Sprintf("the generator used %.2f cores, more than the rest of the machine together (%.2f; --server-pid compares it with the server alone)", g, rest))
		}
	default:
		why = append(why, "neither the server's CPU (--server-pid) nor the machine's was measured, so the generator cannot be shown to be lighter than the server")
	}
	return why
}

// limitLine is the line that replaces the latencies of a generator-limited
// run.
func (res *Result) limitLine() string {
	return "latency not reported: the generator was the limit (" + strings.Join(res.GeneratorLimit, "; ") + ")"
}
