package collab

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of the
// server's own (never the global one, so that servers in one process,
// as in tests, count apart). Each is counted where the event is already
// noticed; all are atomic, and the hot path allocates nothing for them.
type metrics struct {
	reg *prometheus.Registry

	// editors and viewers count the websocket connections joined to a
	// document, by role (the hub counts its members).
	editors, viewers prometheus.Gauge
	// commits and updatesCommitted count the appends the store took and
	// the updates they made durable; commitSeconds times every append.
	commits, updatesCommitted prometheus.Counter
	commitSeconds             prometheus.Histogram
	// fanoutDropped counts connections closed because their send queue
	// was full (they reconnect and catch up; no update is skipped).
	fanoutDropped prometheus.Counter
	// storeErrors counts failed store calls by op.
	storeErrors *prometheus.CounterVec
	// versionConflicts counts appends that met another writer's updates.
	versionConflicts prometheus.Counter
	// appendsBusy counts appends refused because another writer had the
	// turn (store.ErrBusy).
	appendsBusy prometheus.Counter
	// pushesForwarded counts pushes passed to another node (forward.go);
	// forwardsRedone those done here after all, not back in time.
	pushesForwarded, forwardsRedone prometheus.Counter
	// comments counts comments and replies made durable.
	comments prometheus.Counter
}

// Store operations as the store_errors_total metric labels them.
const (
	opAppend   = "append"   // appending a batch
	opRead     = "read"     // reading the log (after a conflict, a wake-up, for a catch-up)
	opSnapshot = "snapshot" // writing a snapshot
	opLoad     = "load"     // loading a document
	opVersion  = "version"  // keeping a version
)

func newMetrics(s *Server) *metrics {
	conns := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bpfdraft_connections",
		Help: "Open websocket connections joined to a document, by role."}, []string{"role"})
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		editors: conns.WithLabelValues(RoleEditor),
		viewers: conns.WithLabelValues(RoleViewer),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_commits_total",
			Help: "Appends the store took."}),
		updatesCommitted: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_updates_committed_total",
			Help: "Updates made durable by appends."}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bpfdraft_commit_seconds",
			Help:    "Time one append to the store took, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}), // 0.5 ms to 16 s
		fanoutDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_fanout_dropped_total",
			Help: "Connections closed because their send queue was full; they reconnect and catch up."}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bpfdraft_store_errors_total",
			Help: "Store calls that failed, by operation."}, []string{"op"}),
		versionConflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_version_conflicts_total",
			Help: "Appends that met another writer's updates, which were taken in before trying again."}),
		appendsBusy: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_appends_busy_total",
			Help: "Appends refused because another node had the turn to append; retried once it had."}),
		pushesForwarded: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_pushes_forwarded_total",
			Help: "Pushes passed to the node that writes the document's edits."}),
		forwardsRedone: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_forwards_redone_total",
			Help: "Pushes passed to another node that did not come back stored in time and were done here."}),
		comments: prometheus.NewCounter(prometheus.CounterOpts{Name: "bpfdraft_comments_total",
			Help: "Comments and replies made durable."}),
	}
	for _, op := range []string{opAppend, opRead, opSnapshot, opLoad, opVersion} {
		m.storeErrors.WithLabelValues(op) // listed at 0 from the start
	}
	loaded := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bpfdraft_documents_loaded",
		Help: "Documents loaded: hubs running."}, func() float64 {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		return float64(len(s.reg.hubs))
	})
	m.reg.MustRegister(conns, m.commits, m.updatesCommitted, m.commitSeconds, m.fanoutDropped, m.storeErrors,
		m.versionConflicts, m.appendsBusy, m.pushesForwarded, m.forwardsRedone, m.comments, loaded,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// joined counts a member joining (n 1) or leaving (n -1) a document.
func (m *metrics) joined(mb *member, n float64) {
	if mb.role == RoleEditor {
		m.editors.Add(n)
	} else {
		m.viewers.Add(n)
	}
}

// storeError counts a failed store call.
func (m *metrics) storeError(op string) {
	m.storeErrors.WithLabelValues(op).Inc()
}

// metricsHandler serves the metrics in Prometheus's text format; with
// Config.MetricsToken set, only to requests bearing it.
func (s *Server) metricsHandler() http.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	token := s.cfg.MetricsToken
	return func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "the metrics need the operator's token (Authorization: Bearer ...)")
				return
			}
		}
		h.ServeHTTP(w, r)
	}
}
