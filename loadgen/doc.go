// Package loadgen drives a running bpfdraft server with many simulated
// editors and viewers of one document over the real websocket protocol
// (collab/client) and measures what the server sustains: committed
// updates per second, how long an editor waits for its own update to come
// back confirmed, how long an update takes to reach everyone else, errors,
// and whether every client ends with the same text as the server.
//
// # Measurements
//
// Every client lives in this process, so latencies use one clock. Each
// editor records the time of its k-th edit; the server confirms a
// client's updates in order and every connection sees the same order, so
// the k-th update from editor c that any receiver sees is c's k-th edit
// (an update emptied by rebasing is still one update). Latencies are kept
// in log-linear histograms with about 3% resolution; only edits made
// after the warm-up count. Committed updates per second come from the
// server's seq, read over the API, over the steady window.
//
// # Concurrency
//
// Run starts one goroutine per editor plus the client's reader goroutine
// per connection; everything is stopped and closed before Run returns.
// Per-receiver state is touched only from that client's OnUpdate, which
// the client calls under its own lock.
//
// # Caveats
//
// The generator competes with the server for CPU when both run on one
// machine; Result.Generator says how busy the generator was, and a
// generator above 85% of its cores is reported as saturated: its numbers
// are then a limit of the generator, not of the server. Only loopback
// servers are accepted (Config.Server is checked when resolved and again
// on every dial). Durations are capped at MaxDuration and connections at
// MaxConnections.
package loadgen
