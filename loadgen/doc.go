// Package loadgen drives a running bpfdraft server with many simulated
// editors and viewers of one document over the real websocket protocol
// and measures what the server sustains: committed updates per second,
// how long an editor waits for its own update to come back confirmed, how
// long an update takes to reach everyone else, errors, and whether every
// client ends with the same text as the server.
//
// # Full and light connections
//
// A generator on the server's machine takes CPU from the server it
// measures, so it must be the lighter of the two. A sample of the editors
// (Config.EditorSample) and of the viewers (Config.ViewerSample) are full
// Go clients (package client): they decode and apply every update to
// every section and are compared with the server at the end. The others
// are light: a light viewer (light.go) only follows the seq numbers of the
// frames it reads; a light editor (lighteditor.go) reads frames with a
// hand-written scanner (scan.go), keeps only its own section's text (each
// version made once per run and shared between the light editors of the
// section, when it holds exactly what the version was made from), has one
// push in flight, and, while it waits for nothing, reads what has arrived
// every 25 ms instead of each frame as it comes (Config.PromptReads). Every connection still checks that seqs arrive in order, none
// missing or doubled; every editor that each of its edits is confirmed
// exactly once and that its text ends equal to the server's. Frames are
// the same bytes for every connection (the server encodes each broadcast
// once), so the sampled clients vouch for the content of what the light
// ones only count.
//
// # Measurements
//
// Every client lives in this process, so latencies use one clock. Each
// editor records the time of its k-th edit; the server confirms a
// client's updates in order and every connection sees the same order, so
// the k-th update from editor c that any receiver sees is c's k-th edit
// (an update emptied by rebasing is still one update). Latencies are kept
// in log-linear histograms with about 3% resolution; only edits made
// after the warm-up count. Confirmations are measured by every editor,
// broadcast only by the sampled editors and viewers, which read every
// frame as it comes. Committed updates per second come from the
// server's seq, read over the API, over the steady window; deliveries
// (updates received, summed over all connections) from the growth of
// every connection's seq over the same window, and the CPU of the
// generator and of the server is reported per delivery.
//
// # The generator as the limit
//
// A run in which the generator, not the server, was the limit does not
// report latencies (Result.GeneratorLimited, verdict.go): they would be
// the generator's. It is decided from what was measured: skipped edits
// (editors more than 250 ms behind their schedule, for more than one edit
// in a thousand), the generator's own cores or the machine more than 85%
// busy, or a generator using more CPU
// than the server (or, without the server's process id, than the rest of
// the machine together).
//
// # Concurrency
//
// Run starts one goroutine per editor plus a reader goroutine per
// connection; everything is stopped and closed before Run returns.
// Per-receiver state is touched only under its connection's lock: a full
// client's, which it holds while calling OnUpdate, or a light editor's,
// held while it handles a frame.
//
// # Caveats
//
// Result.Generator and Result.ServerUse say how busy each was. Light
// viewers and editors are not reconnected: a run that loses one does not
// converge (full clients reconnect and catch up). An edit more than 250 ms
// overdue is not made: it is held (Result.Held) when its editor was
// waiting on its connection (a light editor with 8 edits unconfirmed, or
// a full client whose last edit blocked: a server too busy to read its
// pushes stops reading sockets) and skipped (Result.Skipped) when the
// editor's goroutine was simply late. Only loopback servers are accepted (Config.Server is checked when
// resolved and again on every dial). Durations are capped at MaxDuration
// and connections at MaxConnections.
package loadgen
