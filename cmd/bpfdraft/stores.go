package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore"
)

// storeHelp is the help of --store, which every command that opens the
// data takes.
const storeHelp = "where the data is kept: empty for the bbolt file in --data (one node), or a Redis URL shared by several nodes: redis://host:6379/0 (rediss:// for TLS), or redis+cluster://host:7000 for a Redis Cluster (rediss+cluster:// for TLS)"

// openStoreAt opens the store a --store value names: the bbolt file in
// dataDir when it is empty, else Redis.
func openStoreAt(ctx context.Context, storeURL, dataDir string) (store.Store, error) {
	switch {
	case storeURL == "":
		st, err := boltstore.Open(dataDir, 2*time.Second)
		if errors.Is(err, store.ErrInUse) {
			return nil, fmt.Errorf("%w; while the server runs, pass --server http://ADDR to go through it", err)
		}
		return st, err
	case redisstore.IsURL(storeURL):
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return redisstore.Open(ctx, storeURL)
	}
	return nil, usageError{fmt.Sprintf("--store %q: empty (the bbolt file in --data), a redis:// or a redis+cluster:// URL", storeURL)}
}

// redacted is a store URL fit for logs: without its password.
func redacted(storeURL string) string {
	u, err := url.Parse(storeURL)
	if err != nil {
		return "(a store URL that does not parse)"
	}
	return u.Redacted()
}
