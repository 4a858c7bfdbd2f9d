package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// CopyReport says what Copy moved.
type CopyReport struct {
	BPFs, Accounts, Memberships, Invitations, AuditEntries int
	Documents, Updates, Versions                           int
	// Skipped names what could not be read from the source (a document
	// listed as broken, a corrupt record), each with why; the rest was
	// copied all the same.
	Skipped []string
}

// Copy moves everything src keeps into dst, which must be empty: the
// catalog, every document (its latest snapshot, the updates its log
// keeps, with their seqs, and its named versions), the accounts with
// their memberships, the invitations and the audit log. Sessions are not
// copied (the Sessions capability cannot list them): everyone signs in
// again. src must not change meanwhile (stop the server that uses it).
//
// progress, when not nil, is told of each document as it is copied. A
// record that cannot be read from src is left out and named in the
// report; any error writing to dst stops the copy.
func Copy(ctx context.Context, dst, src Store, progress func(doc DocInfo, n, of int)) (CopyReport, error) {
	var rep CopyReport
	if err := checkEmpty(ctx, dst); err != nil {
		return rep, err
	}
	bpfs, err := src.ListBPFs(ctx)
	if bpfs == nil && err != nil {
		return rep, fmt.Errorf("list the BPFs: %w", err)
	}
	if err != nil {
		rep.Skipped = append(rep.Skipped, err.Error())
	}
	for _, b := range bpfs {
		if err := dst.PutBPF(ctx, b); err != nil {
			return rep, fmt.Errorf("BPF %s: %w", b.ID, err)
		}
		rep.BPFs++
	}

	accounts, err := src.ListAccounts(ctx)
	if err != nil {
		return rep, fmt.Errorf("list the accounts: %w", err)
	}
	for _, a := range accounts {
		if err := dst.CreateAccount(ctx, a); err != nil {
			return rep, fmt.Errorf("account %s: %w", a.ID, err)
		}
		rep.Accounts++
		ms, err := src.Memberships(ctx, a.ID)
		if err != nil {
			return rep, fmt.Errorf("memberships of account %s: %w", a.ID, err)
		}
		for _, m := range ms {
			if err := dst.SetMembership(ctx, m); err != nil {
				return rep, fmt.Errorf("membership of account %s in BPF %s: %w", a.ID, m.BPF, err)
			}
			rep.Memberships++
		}
	}
	for _, b := range bpfs {
		invs, err := src.ListInvitations(ctx, b.ID)
		if err != nil {
			return rep, fmt.Errorf("invitations of BPF %s: %w", b.ID, err)
		}
		slices.Reverse(invs) // oldest first, so that listings keep their order
		for _, inv := range invs {
			if err := dst.CreateInvitation(ctx, inv); err != nil {
				return rep, fmt.Errorf("invitation %s: %w", inv.ID, err)
			}
			rep.Invitations++
		}
	}

	audit, err := src.ListAudit(ctx, AuditFilter{})
	if err != nil {
		return rep, fmt.Errorf("read the audit log: %w", err)
	}
	for _, e := range audit {
		seq, err := dst.AppendAudit(ctx, e)
		if err != nil {
			return rep, fmt.Errorf("audit entry %d: %w", e.Seq, err)
		}
		if seq != e.Seq {
			return rep, fmt.Errorf("audit entry %d was stored as %d: the audit log of the source has gaps", e.Seq, seq)
		}
		rep.AuditEntries++
	}

	docs, err := src.ListDocuments(ctx, "")
	if err != nil {
		return rep, fmt.Errorf("list the documents: %w", err)
	}
	for i, info := range docs {
		if progress != nil {
			progress(info, i+1, len(docs))
		}
		if info.Broken != "" {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("document %s: %s", info.ID, info.Broken))
			continue
		}
		n, v, err := copyDocument(ctx, dst, src, info.ID)
		var read *readError
		if errors.As(err, &read) {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("document %s: %v", info.ID, read.err))
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("document %s: %w", info.ID, err)
		}
		rep.Documents++
		rep.Updates += n
		rep.Versions += v
	}
	return rep, nil
}

// readError is a failure to read the source, which skips one document.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// copyDocument copies one document: its log from the oldest update kept,
// then its latest snapshot, so that dst keeps what src keeps (the same
// LogStart, Head and snapshot), then its versions.
func copyDocument(ctx context.Context, dst, src Store, id string) (updates, versions int, err error) {
	snap, err := src.LoadSnapshot(ctx, id)
	if err != nil {
		return 0, 0, &readError{err}
	}
	start, err := src.LogStart(ctx, id)
	if err != nil {
		return 0, 0, &readError{err}
	}
	ups, err := src.ReadUpdates(ctx, id, start-1, 0)
	if err != nil {
		return 0, 0, &readError{err}
	}
	vs, err := src.ListVersions(ctx, id)
	if err != nil {
		return 0, 0, &readError{err}
	}
	// The document is created as of the seq before its oldest kept
	// update (holding, for that instant, the latest snapshot's content:
	// nothing reads it before the snapshot below replaces it), its log
	// appended, then the latest snapshot put with as many updates kept.
	first := snap.Clone()
	first.Seq = start - 1
	if err := dst.CreateDocument(ctx, first); err != nil {
		return 0, 0, err
	}
	const batch = 1000
	for i := 0; i < len(ups); i += batch {
		j := min(i+batch, len(ups))
		if err := dst.Append(ctx, id, ups[i].Seq-1, ups[i:j]); err != nil {
			return 0, 0, err
		}
	}
	if snap.Seq > first.Seq {
		if err := dst.PutSnapshot(ctx, snap, int(snap.Seq-start+1)); err != nil {
			return 0, 0, err
		}
	}
	for _, v := range vs {
		doc, err := src.GetVersion(ctx, id, v.Seq)
		if err != nil {
			return 0, 0, &readError{fmt.Errorf("version %d: %w", v.Seq, err)}
		}
		if err := dst.PutVersion(ctx, doc, v.Name, v.Created); err != nil {
			return 0, 0, fmt.Errorf("version %d: %w", v.Seq, err)
		}
	}
	return len(ups), len(vs), nil
}

// checkEmpty refuses a destination that holds anything already.
func checkEmpty(ctx context.Context, dst Store) error {
	if bpfs, err := dst.ListBPFs(ctx); err != nil || len(bpfs) > 0 {
		return fmt.Errorf("the destination is not empty (%d BPFs; %v): copy only into an empty store", len(bpfs), err)
	}
	if docs, err := dst.ListDocuments(ctx, ""); err != nil || len(docs) > 0 {
		return fmt.Errorf("the destination is not empty (%d documents; %v): copy only into an empty store", len(docs), err)
	}
	if as, err := dst.ListAccounts(ctx); err != nil || len(as) > 0 {
		return fmt.Errorf("the destination is not empty (%d accounts; %v): copy only into an empty store", len(as), err)
	}
	if es, err := dst.ListAudit(ctx, AuditFilter{Limit: 1}); err != nil || len(es) > 0 {
		return fmt.Errorf("the destination is not empty (its audit log has entries; %v): copy only into an empty store", err)
	}
	return nil
}
