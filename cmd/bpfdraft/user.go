package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
)

const userUsage = `usage: bpfdraft user <add|list> [flags]

  add    create an account; its password is read from standard input (the
         first line), never from the command line
  list   list the accounts and their roles

The server must not be running on the data directory.`

// userCmd manages accounts directly in a data directory: the first
// Secretariat account, or a team member added without an invitation.
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, userUsage)
			return nil
		}
		return usageError{userUsage}
	}
	sub, args := args[0], args[1:]
	var dataDir, storeURL, email, name, role, bpf string
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.StringVar(&dataDir, "data", "./bpfdraft-data", "data directory")
	fs.StringVar(&storeURL, "store", "", storeHelp)
	switch sub {
	case "add":
		fs.StringVar(&email, "email", "", "the account's email address, with which it signs in (required)")
		fs.StringVar(&name, "name", "", "the name shown to others (required)")
		fs.StringVar(&role, "role", "", "secretariat, mag-facilitator or co-facilitator (required)")
		fs.StringVar(&bpf, "bpf", "", "for a facilitator: the id of the BPF whose team they join")
	case "list":
	default:
		return usageError{fmt.Sprintf("unknown user command %q\n\n%s", sub, userUsage)}
	}
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", pos)}
	}
	st, err := openStore(toolConfig{DataDir: dataDir, Store: storeURL})
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "list" {
		return listUsers(ctx, st, stdout)
	}

	r := access.Role(role)
	switch {
	case email == "" || name == "" || role == "":
		return usageError{"--email, --name and --role are required"}
	case r != access.Secretariat && r != access.MAGFacilitator && r != access.CoFacilitator:
		return usageError{fmt.Sprintf("--role %q: one of secretariat, mag-facilitator, co-facilitator", role)}
	case r == access.Secretariat && bpf != "":
		return usageError{"the Secretariat belongs to no one BPF: leave out --bpf"}
	case r != access.Secretariat && bpf == "":
		return usageError{"a facilitator joins a BPF's team: --bpf is required"}
	}
	if bpf != "" {
		if _, err := st.GetBPF(ctx, bpf); err != nil {
			return fmt.Errorf("BPF %q: %w", bpf, err)
		}
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	acct, err := collab.NewAccount(uuid.NewString(), email, name, password, bcrypt.DefaultCost, now)
	if err != nil {
		return err
	}
	acct.Secretariat = r == access.Secretariat
	if err := st.CreateAccount(ctx, acct); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("an account with the email address %s already exists", acct.Email)
		}
		return err
	}
	if bpf != "" {
		if err := st.SetMembership(ctx, store.Membership{BPF: bpf, Account: acct.ID, Role: role, Added: now}); err != nil {
			return err
		}
	}
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Time: now, Account: acct.ID, Action: "account created", BPF: bpf,
		Detail: role + ", on the command line"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created the account of %s <%s> (%s); they sign in at /sign-in\n", acct.Name, acct.Email, role)
	return nil
}

// readPassword reads the password from the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{"the password is read from standard input: none was given (echo it, or type it and press Enter)"}
	}
	return line, nil
}

func listUsers(ctx context.Context, st store.Store, w io.Writer) error {
	list, err := st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLES\tCREATED")
	for _, a := range list {
		var roles []string
		if a.Secretariat {
			roles = append(roles, "secretariat")
		}
		ms, err := st.Memberships(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			roles = append(roles, m.Role+" of "+m.BPF)
		}
		if len(roles) == 0 {
			roles = append(roles, "public")
		}
		if a.Disabled {
			roles = append(roles, "(disabled)")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Email, a.Name, strings.Join(roles, ", "), a.Created.Format(time.DateOnly))
	}
	return tw.Flush()
}
