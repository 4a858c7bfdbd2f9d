package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(_ context.Context, sess *store.Session) error {
	if err := store.NeedID("session", sess.ID); err != nil {
		return err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		if sessions.Get([]byte(sess.ID)) != nil {
			return fmt.Errorf("session %s: %w", sess.ID, store.ErrExists)
		}
		if err := tx.Bucket(bucketAccountSessions).Put(pairKey(sess.Account, sess.ID), nil); err != nil {
			return err
		}
		return sessions.Put([]byte(sess.ID), data)
	})
}

// GetSession implements store.Sessions. A session is expired once now is
// after Expires; the error then wraps both store.ErrNotFound and
// store.ErrExpired. Expired sessions stay stored until deleted.
func (s *Store) GetSession(_ context.Context, id string, now time.Time) (*store.Session, error) {
	var sess *store.Session
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		var err error
		sess, err = store.DecodeSession(id, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if now.After(sess.Expires) {
		return nil, fmt.Errorf("session %s: %w at %s, so %w", id, store.ErrExpired, sess.Expires.Format(time.RFC3339), store.ErrNotFound)
	}
	return sess, nil
}

// DeleteSession implements store.Sessions. A session whose record cannot
// be read is deleted all the same; its entry in the index by account is
// then left for DeleteSessions to drop.
func (s *Store) DeleteSession(_ context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		v := sessions.Get([]byte(id))
		if v == nil {
			return nil
		}
		if sess, err := store.DecodeSession(id, v); err == nil {
			if err := tx.Bucket(bucketAccountSessions).Delete(pairKey(sess.Account, id)); err != nil {
				return err
			}
		}
		return sessions.Delete([]byte(id))
	})
}

// DeleteSessions implements store.Sessions, counting every session of the
// account still stored, expired ones included.
func (s *Store) DeleteSessions(_ context.Context, account string) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		ids, err := deletePrefix(tx.Bucket(bucketAccountSessions), pairPrefix(account))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if sessions.Get([]byte(id)) == nil {
				continue // deleted while unreadable
			}
			if err := sessions.Delete([]byte(id)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
