package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// auditHead is how an entry encoded with seq 0 starts: audit.lua writes
// the seq in its place.
var auditHead = []byte(`{"seq":0,`)

// AppendAudit implements store.Audit with audit.lua: the seq is given and
// the entry stored in one step, so seqs have no gaps.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	e.Seq = 0
	data, err := json.Marshal(&e)
	if err != nil {
		return 0, err
	}
	rest, ok := bytes.CutPrefix(data, auditHead)
	if !ok {
		return 0, fmt.Errorf("audit entry encodes as %.20s…, not starting with its seq", data)
	}
	seq, err := scriptAudit.Run(ctx, s.rdb, []string{s.auditKey("seq"), s.auditKey("entries")}, rest).Int64()
	if err != nil {
		return 0, closedErr(err)
	}
	return seq, nil
}

// matches reports whether the filter selects e, After and Limit aside.
func matches(f store.AuditFilter, e *store.AuditEntry) bool {
	return (f.BPF == "" || e.BPF == f.BPF) &&
		(f.Doc == "" || e.Doc == f.Doc) &&
		(f.Account == "" || e.Account == f.Account) &&
		(f.Action == "" || e.Action == f.Action)
}

// auditPage is how many entries ListAudit reads at a time.
const auditPage = 256

// ListAudit implements store.Audit. It reads the log from After on, a
// page at a time, and filters as it goes, without indexes. An entry that
// cannot be decoded (or is missing) is left out, whether or not the
// filter would select it, and reported as ListAccounts reports unreadable
// accounts, naming its seq; it does not count towards Limit.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	v, err := s.rdb.Get(ctx, s.auditKey("seq")).Result()
	if err := notNil(err); err != nil {
		return nil, err
	}
	var last int64
	if v != "" {
		if last, err = parseSeq(v); err != nil {
			return nil, store.Corrupt("audit seq", err)
		}
	}
	var out []store.AuditEntry
	var broken []error
	for from := max(f.After, 0) + 1; f.After < last && from <= last && (f.Limit <= 0 || len(out) < f.Limit); from += auditPage {
		to := min(last, from+auditPage-1)
		fields := make([]string, 0, to-from+1)
		for seq := from; seq <= to; seq++ {
			fields = append(fields, seqArg(seq))
		}
		vals, err := s.rdb.HMGet(ctx, s.auditKey("entries"), fields...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if f.Limit > 0 && len(out) >= f.Limit {
				break
			}
			seq := from + int64(i)
			data, ok := v.(string)
			if !ok {
				broken = append(broken, store.Corrupt(fmt.Sprintf("audit entry %d", seq), errors.New("missing")))
				continue
			}
			var e store.AuditEntry
			err := json.Unmarshal([]byte(data), &e)
			if err == nil && e.Seq != seq {
				err = fmt.Errorf("entry numbered %d", e.Seq)
			}
			if err != nil {
				broken = append(broken, store.Corrupt(fmt.Sprintf("audit entry %d", seq), err))
				continue
			}
			if matches(f, &e) {
				out = append(out, e)
			}
		}
	}
	return out, errors.Join(broken...)
}
