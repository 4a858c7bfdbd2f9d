package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// getInvitation reads an invitation through c.
func (s *Store) getInvitation(ctx context.Context, c redis.Cmdable, id string) (*store.Invitation, error) {
	v, err := c.HGet(ctx, s.invitationsKey("invitations"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("invitation %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeInvitation(id, []byte(v))
}

// CreateInvitation implements store.Invitations.
func (s *Store) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	if err := store.NeedID("invitation", inv.ID); err != nil {
		return err
	}
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	invitations := s.invitationsKey("invitations")
	return s.txn(ctx, func(tx *redis.Tx) error {
		taken, err := tx.HExists(ctx, invitations, inv.ID).Result()
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("invitation %s: %w", inv.ID, store.ErrExists)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, s.invitationsKey("bpf:"+inv.BPF), inv.ID)
			p.HSet(ctx, invitations, inv.ID, data)
			return nil
		})
		return err
	}, invitations)
}

// GetInvitation implements store.Invitations.
func (s *Store) GetInvitation(ctx context.Context, id string) (*store.Invitation, error) {
	return s.getInvitation(ctx, s.rdb, id)
}

// change rewrites the invitation id with what edit makes of it, in an
// optimistic transaction: of concurrent changes, each sees the one before.
func (s *Store) change(ctx context.Context, id string, edit func(inv *store.Invitation) error) (*store.Invitation, error) {
	invitations := s.invitationsKey("invitations")
	var inv *store.Invitation
	err := s.txn(ctx, func(tx *redis.Tx) error {
		var err error
		inv, err = s.getInvitation(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := edit(inv); err != nil {
			return err
		}
		data, err := json.Marshal(inv)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, invitations, id, data)
			return nil
		})
		return err
	}, invitations)
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// TakeInvitation implements store.Invitations. Of concurrent calls, the
// first to commit wins; the others find it used when they run again. An
// invitation taken before is ErrUsed even if it has since expired or been
// revoked; one that was not is ErrExpired once now is after Expires.
func (s *Store) TakeInvitation(ctx context.Context, id, account string, now time.Time) (*store.Invitation, error) {
	return s.change(ctx, id, func(inv *store.Invitation) error {
		switch {
		case inv.UsedBy != "" || !inv.Used.IsZero():
			return fmt.Errorf("invitation %s: %w", id, store.ErrUsed)
		case inv.Revoked:
			return fmt.Errorf("invitation %s revoked: %w", id, store.ErrExpired)
		case now.After(inv.Expires):
			return fmt.Errorf("invitation %s: %w at %s", id, store.ErrExpired, inv.Expires.Format(time.RFC3339))
		}
		inv.UsedBy, inv.Used = account, now
		return nil
	})
}

// RevokeInvitation implements store.Invitations; revoking one that is
// revoked already, or used, marks it revoked and returns nil.
func (s *Store) RevokeInvitation(ctx context.Context, id string) error {
	_, err := s.change(ctx, id, func(inv *store.Invitation) error {
		inv.Revoked = true
		return nil
	})
	return err
}

// ListInvitations implements store.Invitations: newest first, ties by id.
// Unreadable invitations are reported as ListAccounts reports unreadable
// accounts. Invitations are never deleted and each is indexed with its
// record, so the index and the records need not be read at one moment.
func (s *Store) ListInvitations(ctx context.Context, bpf string) ([]*store.Invitation, error) {
	ids, err := s.rdb.SMembers(ctx, s.invitationsKey("bpf:"+bpf)).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	slices.Sort(ids)
	vals, err := s.rdb.HMGet(ctx, s.invitationsKey("invitations"), ids...).Result()
	if err != nil {
		return nil, err
	}
	var out []*store.Invitation
	var broken []error
	for i, id := range ids {
		v, ok := vals[i].(string)
		if !ok {
			broken = append(broken, store.Corrupt("invitation "+id, errors.New("indexed but missing")))
			continue
		}
		inv, err := store.DecodeInvitation(id, []byte(v))
		if err == nil && inv.BPF != bpf {
			err = store.Corrupt("invitation "+id, fmt.Errorf("indexed under BPF %q, record names %q", bpf, inv.BPF))
		}
		if err != nil {
			broken = append(broken, err)
			continue
		}
		out = append(out, inv)
	}
	slices.SortStableFunc(out, func(a, b *store.Invitation) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(a.ID, b.ID))
	})
	return out, errors.Join(broken...)
}
