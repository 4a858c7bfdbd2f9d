package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// emailOwner returns the id of the account holding email and its stored
// record, or "" when the index has no entry for it or only a stale one
// (its account gone, or holding another email now, after a repair).
func (s *Store) emailOwner(ctx context.Context, c redis.Cmdable, email string) (id, rec string, err error) {
	id, err = c.HGet(ctx, s.accountsKey("emails"), email).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	rec, err = c.HGet(ctx, s.accountsKey("accounts"), id).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	if a, err := store.DecodeAccount(id, []byte(rec)); err == nil && a.Email != email {
		return "", "", nil
	}
	// An unreadable owner keeps its email: it may well be its.
	return id, rec, nil
}

// CreateAccount implements store.Accounts. The email is stored lower-cased;
// a is not changed.
func (s *Store) CreateAccount(ctx context.Context, a *store.Account) error {
	email, data, err := store.EncodeAccount(a)
	if err != nil {
		return err
	}
	accounts, emails := s.accountsKey("accounts"), s.accountsKey("emails")
	return s.txn(ctx, func(tx *redis.Tx) error {
		taken, err := tx.HExists(ctx, accounts, a.ID).Result()
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("account %s: %w", a.ID, store.ErrExists)
		}
		owner, _, err := s.emailOwner(ctx, tx, email)
		if err != nil {
			return err
		}
		if owner != "" {
			return fmt.Errorf("email %s: %w", email, store.ErrExists)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, emails, email, a.ID)
			p.HSet(ctx, accounts, a.ID, data)
			return nil
		})
		return err
	}, accounts, emails)
}

// GetAccount implements store.Accounts; an unreadable record is
// store.ErrCorrupt naming the account.
func (s *Store) GetAccount(ctx context.Context, id string) (*store.Account, error) {
	v, err := s.rdb.HGet(ctx, s.accountsKey("accounts"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("account %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeAccount(id, []byte(v))
}

// AccountByEmail implements store.Accounts. The account is the one whose
// record, read after the index, holds the email.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*store.Account, error) {
	email = store.NormEmail(email)
	id, rec, err := s.emailOwner(ctx, s.rdb, email)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("email %s: %w", email, store.ErrNotFound)
	}
	return store.DecodeAccount(id, []byte(rec))
}

// UpdateAccount implements store.Accounts. An account whose stored record
// cannot be read can be replaced all the same: every index entry of its
// old email is found and dropped.
func (s *Store) UpdateAccount(ctx context.Context, a *store.Account) error {
	email, data, err := store.EncodeAccount(a)
	if err != nil {
		return err
	}
	accounts, emails := s.accountsKey("accounts"), s.accountsKey("emails")
	return s.txn(ctx, func(tx *redis.Tx) error {
		v, err := tx.HGet(ctx, accounts, a.ID).Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("account %s: %w", a.ID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		owner, _, err := s.emailOwner(ctx, tx, email)
		if err != nil {
			return err
		}
		if owner != "" && owner != a.ID {
			return fmt.Errorf("email %s: %w", email, store.ErrExists)
		}
		var stale []string
		if old, err := store.DecodeAccount(a.ID, []byte(v)); err == nil {
			if old.Email != email {
				held, err := tx.HGet(ctx, emails, old.Email).Result()
				if err := notNil(err); err != nil {
					return err
				}
				if held == a.ID {
					stale = append(stale, old.Email)
				}
			}
		} else {
			all, err := tx.HGetAll(ctx, emails).Result()
			if err != nil {
				return err
			}
			for k, id := range all {
				if id == a.ID && k != email {
					stale = append(stale, k)
				}
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(stale) > 0 {
				p.HDel(ctx, emails, stale...)
			}
			p.HSet(ctx, emails, email, a.ID)
			p.HSet(ctx, accounts, a.ID, data)
			return nil
		})
		return err
	}, accounts, emails)
}

// ListAccounts implements store.Accounts: oldest first, ties by id. As
// ListBPFs does, it returns the readable accounts together with an error
// wrapping store.ErrCorrupt for each unreadable one (errors.Join, each
// naming its account).
func (s *Store) ListAccounts(ctx context.Context) ([]*store.Account, error) {
	all, err := s.rdb.HGetAll(ctx, s.accountsKey("accounts")).Result()
	if err != nil {
		return nil, err
	}
	out, err := decodeAll(all, store.DecodeAccount)
	slices.SortStableFunc(out, func(a, b *store.Account) int { return a.Created.Compare(b.Created) })
	return out, err
}

// CountSecretariat implements store.Accounts, disabled accounts included.
// Unreadable accounts are not counted, and each is reported as by
// ListAccounts, with the count of the readable ones.
func (s *Store) CountSecretariat(ctx context.Context) (int, error) {
	return store.CountSecretariat(s.ListAccounts(ctx))
}

// SetMembership implements store.Accounts. Changing the role of a member
// keeps when they were added: m.Added counts only for a new member. It
// does not check that the account or the BPF exists. The record is kept
// twice, by BPF and by account, both written in one transaction.
func (s *Store) SetMembership(ctx context.Context, m store.Membership) error {
	if err := store.NeedID("membership's BPF", m.BPF); err != nil {
		return err
	}
	if err := store.NeedID("membership's account", m.Account); err != nil {
		return err
	}
	members, teams := s.accountsKey("members:"+m.BPF), s.accountsKey("teams:"+m.Account)
	return s.txn(ctx, func(tx *redis.Tx) error {
		v, err := tx.HGet(ctx, members, m.Account).Result()
		if err := notNil(err); err != nil {
			return err
		}
		if err == nil {
			if old, err := store.DecodeMembership(m.BPF, m.Account, []byte(v)); err == nil {
				m.Added = old.Added
			}
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, members, m.Account, data)
			p.HSet(ctx, teams, m.BPF, data)
			return nil
		})
		return err
	}, members)
}

// RemoveMembership implements store.Accounts.
func (s *Store) RemoveMembership(ctx context.Context, bpf, account string) error {
	members, teams := s.accountsKey("members:"+bpf), s.accountsKey("teams:"+account)
	return s.txn(ctx, func(tx *redis.Tx) error {
		in, err := tx.HExists(ctx, members, account).Result()
		if err != nil {
			return err
		}
		if !in {
			return fmt.Errorf("account %s in BPF %s: %w", account, bpf, store.ErrNotFound)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, members, account)
			p.HDel(ctx, teams, bpf)
			return nil
		})
		return err
	}, members)
}

// Memberships implements store.Accounts, by BPF id. Unreadable memberships
// are reported as ListAccounts reports unreadable accounts.
func (s *Store) Memberships(ctx context.Context, account string) ([]store.Membership, error) {
	all, err := s.rdb.HGetAll(ctx, s.accountsKey("teams:"+account)).Result()
	if err != nil {
		return nil, err
	}
	return decodeAll(all, func(bpf string, v []byte) (store.Membership, error) {
		return store.DecodeMembership(bpf, account, v)
	})
}

// Members implements store.Accounts: oldest first, ties by account id.
// Unreadable memberships are reported as ListAccounts reports unreadable
// accounts.
func (s *Store) Members(ctx context.Context, bpf string) ([]store.Membership, error) {
	all, err := s.rdb.HGetAll(ctx, s.accountsKey("members:"+bpf)).Result()
	if err != nil {
		return nil, err
	}
	out, err := decodeAll(all, func(account string, v []byte) (store.Membership, error) {
		return store.DecodeMembership(bpf, account, v)
	})
	slices.SortStableFunc(out, func(a, b store.Membership) int {
		return cmp.Or(a.Added.Compare(b.Added), strings.Compare(a.Account, b.Account))
	})
	return out, err
}
