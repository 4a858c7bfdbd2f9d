package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// NewAudit returns an empty store.Audit for one subtest; it releases what
// it holds with t.Cleanup.
type NewAudit func(t *testing.T) store.Audit

// RunAudit runs the conformance tests of store.Audit as named subtests:
//
//   - AppendAndList: seqs from 1 without gaps, whatever Seq the caller
//     set; every field reads back; an empty filter lists all, oldest first.
//   - Filters: each of BPF, Doc, Account and Action alone, two together,
//     and one that matches nothing.
//   - Paging: After and Limit alone and together, with and without a
//     filter; pages of every size read the whole selection once each, in
//     order; After at or past the last seq lists none; After < 0 and
//     Limit <= 0 mean from the start and all.
//   - ConcurrentAppend: writers appending at once get distinct seqs, 1 to
//     n without gaps, each entry stored under the seq its writer was given.
//   - Empty: an empty log lists none, without error, whatever the filter.
func RunAudit(t *testing.T, newAudit NewAudit) {
	runAll(t, newAudit, []subtest[store.Audit]{
		{"AppendAndList", testAppendAudit},
		{"Filters", testAuditFilters},
		{"Paging", testAuditPaging},
		{"ConcurrentAppend", testConcurrentAudit},
		{"Empty", testEmptyAudit},
	})
}

// auditLog is a varied log: entry i (from 0) is at t0 plus i minutes.
func auditLog() []store.AuditEntry {
	rows := []struct{ account, action, bpf, doc string }{
		{"", "sign-up", "", ""},
		{"ana", "sign-in", "", ""},
		{"sec", "invite", "cyber", ""},
		{"ana", "edit-session", "cyber", "d1"},
		{"bo", "edit-session", "cyber", "d2"},
		{"sec", "phase", "cyber", "d1"},
		{"ana", "edit-session", "ai", "d3"},
		{"sec", "publish", "cyber", "d1"},
		{"bo", "sign-in", "", ""},
		{"sec", "moderate", "ai", "d3"},
		{"ana", "edit-session", "cyber", "d1"},
		{"sec", "decide", "cyber", "d2"},
	}
	out := make([]store.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = store.AuditEntry{Time: t0.Add(time.Duration(i) * time.Minute), Account: r.account,
			Address: fmt.Sprintf("192.0.2.%d", i+1), Action: r.action, BPF: r.bpf, Doc: r.doc,
			Detail: fmt.Sprintf("entry %d", i)}
	}
	return out
}

// appendAll appends the entries and returns them with their seqs set.
func appendAll(t *testing.T, s store.Audit, entries []store.AuditEntry) []store.AuditEntry {
	t.Helper()
	out := make([]store.AuditEntry, len(entries))
	for i, e := range entries {
		e.Seq = 1000 + int64(i) // not the caller's to choose
		seq, err := s.AppendAudit(context.Background(), e)
		if err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
		e.Seq = seq
		out[i] = e
	}
	return out
}

// selected returns the entries the filter selects, as ListAudit should.
func selected(all []store.AuditEntry, f store.AuditFilter) []store.AuditEntry {
	out := []store.AuditEntry{}
	for _, e := range all {
		if e.Seq <= f.After || f.Limit > 0 && len(out) == f.Limit {
			continue
		}
		if (f.BPF == "" || e.BPF == f.BPF) && (f.Doc == "" || e.Doc == f.Doc) &&
			(f.Account == "" || e.Account == f.Account) && (f.Action == "" || e.Action == f.Action) {
			out = append(out, e)
		}
	}
	return out
}

// wantAudit checks ListAudit(f) against want.
func wantAudit(t *testing.T, s store.Audit, f store.AuditFilter, want []store.AuditEntry) {
	t.Helper()
	got, err := s.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	sameJSON(t, fmt.Sprintf("ListAudit(%+v)", f), got, want)
}

func testAppendAudit(t *testing.T, s store.Audit) {
	all := appendAll(t, s, auditLog())
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d appended as seq %d; want %d", i, e.Seq, i+1)
		}
	}
	wantAudit(t, s, store.AuditFilter{}, all)
}

func testAuditFilters(t *testing.T, s store.Audit) {
	all := appendAll(t, s, auditLog())
	// Each of these selects some entries and not all, so each field is
	// seen to filter.
	for _, f := range []store.AuditFilter{
		{BPF: "cyber"}, {BPF: "ai"},
		{Doc: "d1"}, {Doc: "d3"},
		{Account: "ana"}, {Account: "sec"},
		{Action: "edit-session"}, {Action: "sign-in"},
		{BPF: "cyber", Account: "ana"}, {Doc: "d1", Action: "edit-session"},
	} {
		want := selected(all, f)
		if len(want) == 0 || len(want) == len(all) {
			t.Fatalf("test log: filter %+v selects %d of %d entries", f, len(want), len(all))
		}
		wantAudit(t, s, f, want)
	}
	for _, f := range []store.AuditFilter{
		{BPF: "ai", Doc: "d1"}, {Action: "nothing-of-the-kind"}, {Account: "nobody"},
	} {
		wantAudit(t, s, f, nil)
	}
}

func testAuditPaging(t *testing.T, s store.Audit) {
	all := appendAll(t, s, auditLog())
	last := all[len(all)-1].Seq
	for _, f := range []store.AuditFilter{
		{After: 4}, {Limit: 3}, {After: 4, Limit: 3}, {After: last - 1, Limit: 5},
		{After: last}, {After: last + 10}, {After: math.MaxInt64}, {After: -5, Limit: -1}, {Limit: 0},
		{BPF: "cyber", After: 4}, {BPF: "cyber", Limit: 2}, {BPF: "cyber", After: 4, Limit: 2},
		{Account: "ana", After: 2, Limit: 1},
	} {
		wantAudit(t, s, f, selected(all, f))
	}
	// Page through a selection and the whole log as a reader does.
	for _, base := range []store.AuditFilter{{}, {BPF: "cyber"}, {Action: "edit-session"}} {
		for size := 1; size <= len(all)+1; size++ {
			var paged []store.AuditEntry
			f := base
			f.Limit = size
			for range len(all) + 2 {
				page, err := s.ListAudit(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("ListAudit(%+v) = %d entries; want at most %d", f, len(page), size)
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				f.After = page[len(page)-1].Seq
			}
			sameJSON(t, fmt.Sprintf("%+v in pages of %d", base, size), paged, selected(all, base))
		}
	}
}

func testConcurrentAudit(t *testing.T, s store.Audit) {
	ctx := context.Background()
	const writers, each = 6, 25
	seqs := make([][]int64, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: t0, Account: fmt.Sprintf("w%d", w), Action: "edit-session", Detail: fmt.Sprint(i)})
				if err != nil {
					t.Errorf("writer %d: AppendAudit: %v", w, err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	// Whom each seq was given to.
	given := map[int64]string{}
	for w, list := range seqs {
		for i, seq := range list {
			if prev, dup := given[seq]; dup {
				t.Fatalf("seq %d given twice: to %s and to w%d/%d", seq, prev, w, i)
			}
			if i > 0 && seq <= list[i-1] {
				t.Fatalf("writer %d: seq %d after %d; want increasing", w, seq, list[i-1])
			}
			given[seq] = fmt.Sprintf("w%d/%d", w, i)
		}
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*each {
		t.Fatalf("ListAudit = %d entries; want %d", len(got), writers*each)
	}
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d; want %d (no gaps)", i, e.Seq, i+1)
		}
		if who := e.Account + "/" + e.Detail; given[e.Seq] != who {
			t.Fatalf("entry %d is %s's; seq %d was given to %s", e.Seq, who, e.Seq, given[e.Seq])
		}
	}
}

func testEmptyAudit(t *testing.T, s store.Audit) {
	for _, f := range []store.AuditFilter{{}, {BPF: "cyber"}, {After: 3, Limit: 2}} {
		wantAudit(t, s, f, nil)
	}
	if seq, err := s.AppendAudit(context.Background(), store.AuditEntry{Time: t0, Action: "sign-up"}); err != nil || seq != 1 {
		t.Fatalf("first AppendAudit = %d, %v; want 1", seq, err)
	}
}
