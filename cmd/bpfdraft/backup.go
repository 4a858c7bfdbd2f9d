package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// backupCmd writes a consistent copy of a bbolt store to a file: through
// a running server (--server), which keeps serving meanwhile, or straight
// from a data directory no server is using.
func backupCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	var c toolConfig
	var out string
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	toolFlags(fs, &c)
	fs.StringVar(&out, "out", "", "file to write the copy to (required); to restore it, stop the server and put it in the data directory as bpfdraft.db")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"backup takes no arguments; name the copy with --out"}
	}
	if out == "" {
		return usageError{"--out FILE is required"}
	}
	// Written beside the destination, then renamed: a failed backup never
	// leaves a truncated file under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".bpfdraft-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	var n int64
	if c.Server != "" {
		n, err = backupOverHTTP(ctx, c, tmp, getenv)
	} else {
		n, err = backupLocal(ctx, c, tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", out, n)
	return nil
}

func backupLocal(ctx context.Context, c toolConfig, w io.Writer) (int64, error) {
	st, err := openStore(c)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	b, ok := st.(store.Backuper)
	if !ok {
		return 0, errors.New("this store is not a file to copy: back up Redis with its own tools (see docs/operations.md)")
	}
	return b.Backup(ctx, w, nil)
}

func backupOverHTTP(ctx context.Context, c toolConfig, w io.Writer, getenv func(string) string) (int64, error) {
	s, err := signInFor(ctx, http.DefaultClient, c.Server, c.Email, getenv)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.Server, "/")+"/api/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header = s.Header()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if hint := signInHint(resp.StatusCode); hint != "" && c.Email == "" {
			return 0, fmt.Errorf("backup: %s: %s; %s", resp.Status, strings.TrimSpace(string(msg)), hint)
		}
		return 0, fmt.Errorf("backup: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("backup: the server sent %d of %d bytes", n, resp.ContentLength)
	}
	return n, err
}
