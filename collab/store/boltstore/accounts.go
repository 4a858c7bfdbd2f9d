package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// pairPrefix is the start of every pair key whose first part is a.
func pairPrefix(a string) []byte {
	k := binary.AppendUvarint(nil, uint64(len(a)))
	return append(k, a...)
}

// pairKey is the key of (a, b) in an index: pairPrefix(a), then b.
func pairKey(a, b string) []byte {
	return append(pairPrefix(a), b...)
}

// seconds returns the second parts of the pair keys whose first part is
// the prefix's, in key order, copied out of the transaction.
func seconds(bk *bolt.Bucket, prefix []byte) []string {
	var out []string
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// deletePrefix deletes every key of bk starting with prefix and returns
// their second parts. Keys are collected first: Next after Delete can skip
// a key (bbolt issue #146).
func deletePrefix(bk *bolt.Bucket, prefix []byte) ([]string, error) {
	rest := seconds(bk, prefix)
	for _, b := range rest {
		if err := bk.Delete(append(prefix[:len(prefix):len(prefix)], b...)); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// emailOwner returns the id of the account holding email, or "" when the
// index has no entry for it or only a stale one (its account gone, or
// holding another email now, after a repair).
func emailOwner(tx *bolt.Tx, email string) string {
	v := tx.Bucket(bucketEmails).Get([]byte(email))
	if v == nil {
		return ""
	}
	id := string(v)
	rec := tx.Bucket(bucketAccounts).Get(v)
	if rec == nil {
		return ""
	}
	if a, err := store.DecodeAccount(id, rec); err == nil && a.Email != email {
		return ""
	}
	// An unreadable owner keeps its email: it may well be its.
	return id
}

// CreateAccount implements store.Accounts. The email is stored lower-cased;
// a is not changed.
func (s *Store) CreateAccount(_ context.Context, a *store.Account) error {
	email, data, err := store.EncodeAccount(a)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		accounts := tx.Bucket(bucketAccounts)
		if accounts.Get([]byte(a.ID)) != nil {
			return fmt.Errorf("account %s: %w", a.ID, store.ErrExists)
		}
		if owner := emailOwner(tx, email); owner != "" {
			return fmt.Errorf("email %s: %w", email, store.ErrExists)
		}
		if err := tx.Bucket(bucketEmails).Put([]byte(email), []byte(a.ID)); err != nil {
			return err
		}
		return accounts.Put([]byte(a.ID), data)
	})
}

// GetAccount implements store.Accounts; an unreadable record is
// store.ErrCorrupt naming the account.
func (s *Store) GetAccount(_ context.Context, id string) (*store.Account, error) {
	var a *store.Account
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAccounts).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("account %s: %w", id, store.ErrNotFound)
		}
		var err error
		a, err = store.DecodeAccount(id, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AccountByEmail implements store.Accounts.
func (s *Store) AccountByEmail(_ context.Context, email string) (*store.Account, error) {
	email = store.NormEmail(email)
	var a *store.Account
	err := s.view(func(tx *bolt.Tx) error {
		id := emailOwner(tx, email)
		if id == "" {
			return fmt.Errorf("email %s: %w", email, store.ErrNotFound)
		}
		var err error
		a, err = store.DecodeAccount(id, tx.Bucket(bucketAccounts).Get([]byte(id)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAccount implements store.Accounts. An account whose stored record
// cannot be read can be replaced all the same: every index entry of its
// old email is found and dropped.
func (s *Store) UpdateAccount(_ context.Context, a *store.Account) error {
	email, data, err := store.EncodeAccount(a)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		accounts, emails := tx.Bucket(bucketAccounts), tx.Bucket(bucketEmails)
		v := accounts.Get([]byte(a.ID))
		if v == nil {
			return fmt.Errorf("account %s: %w", a.ID, store.ErrNotFound)
		}
		if owner := emailOwner(tx, email); owner != "" && owner != a.ID {
			return fmt.Errorf("email %s: %w", email, store.ErrExists)
		}
		var stale [][]byte
		if old, err := store.DecodeAccount(a.ID, v); err == nil {
			if old.Email != email && string(emails.Get([]byte(old.Email))) == a.ID {
				stale = append(stale, []byte(old.Email))
			}
		} else {
			err := emails.ForEach(func(k, v []byte) error {
				if string(v) == a.ID && string(k) != email {
					stale = append(stale, bytes.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, k := range stale {
			if err := emails.Delete(k); err != nil {
				return err
			}
		}
		if err := emails.Put([]byte(email), []byte(a.ID)); err != nil {
			return err
		}
		return accounts.Put([]byte(a.ID), data)
	})
}

// ListAccounts implements store.Accounts: oldest first, ties by id. As
// ListBPFs does, it returns the readable accounts together with an error
// wrapping store.ErrCorrupt for each unreadable one (errors.Join, each
// naming its account).
func (s *Store) ListAccounts(_ context.Context) ([]*store.Account, error) {
	var out []*store.Account
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			a, err := store.DecodeAccount(string(k), v)
			if err != nil {
				broken = append(broken, err)
				return nil
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// ForEach goes by id and the sort is stable: ties stay by id.
	slices.SortStableFunc(out, func(a, b *store.Account) int { return a.Created.Compare(b.Created) })
	return out, errors.Join(broken...)
}

// CountSecretariat implements store.Accounts, disabled accounts included.
// Unreadable accounts are not counted, and each is reported as by
// ListAccounts, with the count of the readable ones.
func (s *Store) CountSecretariat(ctx context.Context) (int, error) {
	return store.CountSecretariat(s.ListAccounts(ctx))
}

// SetMembership implements store.Accounts. Changing the role of a member
// keeps when they were added: m.Added counts only for a new member. It
// does not check that the account or the BPF exists.
func (s *Store) SetMembership(_ context.Context, m store.Membership) error {
	if err := store.NeedID("membership's BPF", m.BPF); err != nil {
		return err
	}
	if err := store.NeedID("membership's account", m.Account); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		members := tx.Bucket(bucketMembers)
		key := pairKey(m.BPF, m.Account)
		if v := members.Get(key); v != nil {
			if old, err := store.DecodeMembership(m.BPF, m.Account, v); err == nil {
				m.Added = old.Added
			}
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketTeams).Put(pairKey(m.Account, m.BPF), nil); err != nil {
			return err
		}
		return members.Put(key, data)
	})
}

// RemoveMembership implements store.Accounts.
func (s *Store) RemoveMembership(_ context.Context, bpf, account string) error {
	return s.update(func(tx *bolt.Tx) error {
		members := tx.Bucket(bucketMembers)
		key := pairKey(bpf, account)
		if members.Get(key) == nil {
			return fmt.Errorf("account %s in BPF %s: %w", account, bpf, store.ErrNotFound)
		}
		if err := tx.Bucket(bucketTeams).Delete(pairKey(account, bpf)); err != nil {
			return err
		}
		return members.Delete(key)
	})
}

// Memberships implements store.Accounts, by BPF id. Unreadable memberships
// are reported as ListAccounts reports unreadable accounts.
func (s *Store) Memberships(_ context.Context, account string) ([]store.Membership, error) {
	var out []store.Membership
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		members := tx.Bucket(bucketMembers)
		for _, bpf := range seconds(tx.Bucket(bucketTeams), pairPrefix(account)) {
			v := members.Get(pairKey(bpf, account))
			if v == nil {
				// The index is written with the record and dropped with it.
				broken = append(broken, store.Corrupt(fmt.Sprintf("membership of account %s in BPF %s", account, bpf), errors.New("indexed but missing")))
				continue
			}
			m, err := store.DecodeMembership(bpf, account, v)
			if err != nil {
				broken = append(broken, err)
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(broken...)
}

// Members implements store.Accounts: oldest first, ties by account id.
// Unreadable memberships are reported as ListAccounts reports unreadable
// accounts.
func (s *Store) Members(_ context.Context, bpf string) ([]store.Membership, error) {
	var out []store.Membership
	var broken []error
	err := s.view(func(tx *bolt.Tx) error {
		prefix := pairPrefix(bpf)
		c := tx.Bucket(bucketMembers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			m, err := store.DecodeMembership(bpf, string(k[len(prefix):]), v)
			if err != nil {
				broken = append(broken, err)
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b store.Membership) int {
		return cmp.Or(a.Added.Compare(b.Added), strings.Compare(a.Account, b.Account))
	})
	return out, errors.Join(broken...)
}
