package boltstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// getInvitation reads an invitation inside a transaction.
func getInvitation(tx *bolt.Tx, id string) (*store.Invitation, error) {
	v := tx.Bucket(bucketInvitations).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("invitation %s: %w", id, store.ErrNotFound)
	}
	return store.DecodeInvitation(id, v)
}

func putInvitation(tx *bolt.Tx, inv *store.Invitation) error {
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketInvitations).Put([]byte(inv.ID), data)
}

// CreateInvitation implements store.Invitations.
func (s *Store) CreateInvitation(_ context.Context, inv *store.Invitation) error {
	if err := store.NeedID("invitation", inv.ID); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketInvitations).Get([]byte(inv.ID)) != nil {
			return fmt.Errorf("invitation %s: %w", inv.ID, store.ErrExists)
		}
		if err := tx.Bucket(bucketBPFInvitations).Put(pairKey(inv.BPF, inv.ID), nil); err != nil {
			return err
		}
		return putInvitation(tx, inv)
	})
}

// GetInvitation implements store.Invitations.
func (s *Store) GetInvitation(_ context.Context, id string) (*store.Invitation, error) {
	var inv *store.Invitation
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		inv, err = getInvitation(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// TakeInvitation implements store.Invitations in one write transaction,
// so of concurrent calls the first to get bbolt's writer lock wins. An
// invitation taken before is ErrUsed even if it has since expired or been
// revoked; one that was not is ErrExpired once now is after Expires.
func (s *Store) TakeInvitation(_ context.Context, id, account string, now time.Time) (*store.Invitation, error) {
	var inv *store.Invitation
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		inv, err = getInvitation(tx, id)
		switch {
		case err != nil:
			return err
		case inv.UsedBy != "" || !inv.Used.IsZero():
			return fmt.Errorf("invitation %s: %w", id, store.ErrUsed)
		case inv.Revoked:
			return fmt.Errorf("invitation %s revoked: %w", id, store.ErrExpired)
		case now.After(inv.Expires):
			return fmt.Errorf("invitation %s: %w at %s", id, store.ErrExpired, inv.Expires.Format(time.RFC3339))
		}
		inv.UsedBy, inv.Used = account, now
		return putInvitation(tx, inv)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// RevokeInvitation implements store.Invitations; revoking one that is
// revoked already, or used, marks it revoked and returns nil.
func (s *Store) RevokeInvitation(_ context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		inv, err := getInvitation(tx, id)
		if err != nil {
			return err
		}
		inv.Revoked = true
		return putInvitation(tx, inv)
	})
}

// ListInvitations implements store.Invitations: newest first, ties by id.
// Unreadable invitations are reported as ListAccounts reports unreadable
// accounts.
func (s *Store) ListInvitations(_ context.Context, bpf string) ([]*store.Invitation, error) {
	var out []*store.Invitation
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		for _, id := range seconds(tx.Bucket(bucketBPFInvitations), pairPrefix(bpf)) {
			inv, err := getInvitation(tx, id)
			if err == nil && inv.BPF != bpf {
				err = store.Corrupt("invitation "+id, fmt.Errorf("indexed under BPF %q, record names %q", bpf, inv.BPF))
			}
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					err = store.Corrupt("invitation "+id, errors.New("indexed but missing"))
				}
				broken = append(broken, err)
				continue
			}
			out = append(out, inv)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b *store.Invitation) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(a.ID, b.ID))
	})
	return out, errors.Join(broken...)
}
