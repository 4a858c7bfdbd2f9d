package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore"
)

// migrateCmd moves a single-node installation (the bbolt file in --data)
// into an empty Redis store, for several nodes to serve.
func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var dataDir, to string
	var quiet bool
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.StringVar(&dataDir, "data", "./bpfdraft-data", "data directory of the installation to move (its server stopped)")
	fs.StringVar(&to, "to", "", "the Redis store to move it into, which must be empty (redis://host:6379/0, or redis+cluster://host:7000 for a Redis Cluster)")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on standard error")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"migrate takes no arguments"}
	}
	if !redisstore.IsURL(to) {
		return usageError{"--to must be a Redis URL (redis://host:6379/0 or redis+cluster://host:7000)"}
	}
	src, err := openStoreAt(ctx, "", dataDir)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openStoreAt(ctx, to, "")
	if err != nil {
		return err
	}
	defer dst.Close()
	progress := func(d store.DocInfo, n, of int) {
		if !quiet {
			fmt.Fprintf(stderr, "document %d of %d: %s %q\n", n, of, d.ID, d.Title)
		}
	}
	rep, err := store.Copy(ctx, dst, src, progress)
	if err != nil {
		return fmt.Errorf("migrate: %w (what was written is in the destination: empty it before trying again)", err)
	}
	fmt.Fprintf(stdout, "moved %d BPFs, %d documents (%d updates, %d versions), %d accounts (%d memberships), %d invitations and %d audit entries into %s\n",
		rep.BPFs, rep.Documents, rep.Updates, rep.Versions, rep.Accounts, rep.Memberships, rep.Invitations, rep.AuditEntries, redacted(to))
	fmt.Fprintln(stdout, "sessions are not moved: everyone signs in again")
	if len(rep.Skipped) > 0 {
		for _, s := range rep.Skipped {
			fmt.Fprintln(stderr, "skipped:", s)
		}
		return fmt.Errorf("migrate: %d records could not be read from %s and were left out (listed above)", len(rep.Skipped), dataDir)
	}
	return nil
}
