package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	if err := store.NeedID("session", sess.ID); err != nil {
		return err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	sessions := s.sessionsKey("sessions")
	return s.txn(ctx, func(tx *redis.Tx) error {
		taken, err := tx.HExists(ctx, sessions, sess.ID).Result()
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("session %s: %w", sess.ID, store.ErrExists)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, s.sessionsKey("account:"+sess.Account), sess.ID)
			p.HSet(ctx, sessions, sess.ID, data)
			return nil
		})
		return err
	}, sessions)
}

// GetSession implements store.Sessions. A session is expired once now is
// after Expires; the error then wraps both store.ErrNotFound and
// store.ErrExpired. Expired sessions stay stored until deleted.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (*store.Session, error) {
	v, err := s.rdb.HGet(ctx, s.sessionsKey("sessions"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	sess, err := store.DecodeSession(id, []byte(v))
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
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	sessions := s.sessionsKey("sessions")
	return s.txn(ctx, func(tx *redis.Tx) error {
		v, err := tx.HGet(ctx, sessions, id).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		sess, decodeErr := store.DecodeSession(id, []byte(v))
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if decodeErr == nil {
				p.SRem(ctx, s.sessionsKey("account:"+sess.Account), id)
			}
			p.HDel(ctx, sessions, id)
			return nil
		})
		return err
	}, sessions)
}

// DeleteSessions implements store.Sessions, counting every session of the
// account still stored, expired ones included.
func (s *Store) DeleteSessions(ctx context.Context, account string) (int, error) {
	sessions, index := s.sessionsKey("sessions"), s.sessionsKey("account:"+account)
	n := 0
	err := s.txn(ctx, func(tx *redis.Tx) error {
		ids, err := tx.SMembers(ctx, index).Result()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			n = 0
			return nil
		}
		vals, err := tx.HMGet(ctx, sessions, ids...).Result()
		if err != nil {
			return err
		}
		var stored []string
		for i, v := range vals {
			if v != nil { // nil: deleted while unreadable
				stored = append(stored, ids[i])
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(stored) > 0 {
				p.HDel(ctx, sessions, stored...)
			}
			p.Del(ctx, index)
			return nil
		})
		n = len(stored)
		return err
	}, sessions, index)
	if err != nil {
		return 0, err
	}
	return n, nil
}
