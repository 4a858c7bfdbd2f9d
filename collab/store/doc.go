// Package store defines how bpfdraft keeps its data, as small interfaces
// with written contracts, one per capability:
//
//   - Catalog: the BPFs and the listing of documents.
//   - DocLog: each document's latest snapshot and its log of accepted
//     updates, appended atomically at an expected seq.
//   - Accounts: the people who can sign in, and their roles in BPF teams
//     (Memberships).
//   - Sessions: signed-in browsers, each expiring.
//   - Invitations: one-time, expiring links to join a BPF's team, taken
//     atomically.
//   - Audit: the log of who did what, numbered without gaps.
//   - Versions: documents as published, kept apart from the log.
//   - Notifier (optional): "document D reached seq V", for engines sharing
//     one backend.
//
// Store is all of them but Notifier, with Ping and Close; it is what a
// server is built on. Backends (bbolt for one node, Redis for several)
// assert each capability they implement and pass its conformance suite in
// storetest (RunCatalog, RunDocLog, RunAccounts, RunSessions,
// RunInvitations, RunAudit, RunVersions, RunNotifier, or Run for all of them), so a new
// backend can be built and proven one capability at a time.
//
// # Errors
//
// Methods return the sentinel errors below wrapped with context; check
// them with errors.Is. ErrVersionConflict is normal when several engines
// append to one log; ErrCorrupt means one stored record could not be
// decoded and names it: it is confined to that record, and listings carry
// on around it (DocInfo.Broken, or ListBPFs's joined error). ErrExpired
// and ErrUsed are normal answers about sessions and invitations.
//
// # Concurrency
//
// Every method of every capability is safe for concurrent use. Nothing a
// method returns refers to the store's memory afterwards.
//
// # Caveats
//
// A notification is only a wake-up and may be lost; the log is the truth.
// Two reads are two moments: a LogStart or Head read may be outdated by the
// next call, which then answers ErrCompacted or ErrVersionConflict.
package store
