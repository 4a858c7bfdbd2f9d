// Command bpfdraft runs the bpfdraft server and its tools.
//
//	bpfdraft serve              run the server (default)
//	bpfdraft import FILE.md     import a markdown draft as a new document
//	bpfdraft export DOC         write a document as markdown or HTML
//	bpfdraft user add|list      manage accounts (the first Secretariat)
//	bpfdraft backup --out FILE  write a consistent copy of the data
//	bpfdraft migrate --to URL   move an installation into Redis
//	bpfdraft load               generate load and measure it
//	bpfdraft probe              exit 0 when a running server is ready
//	bpfdraft version            print the version
//
// Every flag has an environment twin (BPFDRAFT_ADDR for --addr, ...); a
// flag given on the command line wins over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = "help", args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(ctx, args, stderr, getenv)
	case "import":
		err = importCmd(ctx, args, stdin, stdout, getenv)
	case "export":
		err = exportCmd(ctx, args, stdout, getenv)
	case "user":
		err = userCmd(ctx, args, stdin, stdout, getenv)
	case "load":
		err = loadCmd(ctx, args, stdout, stderr, getenv)
	case "backup":
		err = backupCmd(ctx, args, stdout, getenv)
	case "migrate":
		err = migrateCmd(ctx, args, stdout, stderr, getenv)
	case "probe":
		err = probeCmd(ctx, args, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "bpfdraft", version)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		err = usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "bpfdraft:", err)
		return 2
	}
	fmt.Fprintln(stderr, "bpfdraft:", err)
	return 1
}

const usage = `usage: bpfdraft <command> [flags]

commands:
  serve            run the server (the default command)
  import FILE.md   import a markdown draft as a new document ("-" reads standard input)
  export DOC       write a document as markdown (--format md) or a standalone HTML page (--format html)
  user add|list    create an account (its password read from standard input) or list them
  backup --out F   write a consistent copy of the data (through a running server with --server)
  migrate --to URL move the data directory's installation into an empty Redis store
  load             generate load against a server on this machine and measure it
  probe            exit 0 when a running server's /readyz answers 200 (a container's health check)
  version          print the version

Run "bpfdraft <command> -h" for a command's flags.
`

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// envFlags gives every flag of fs its environment twin: BPFDRAFT_ followed
// by the flag name in upper case with - as _. Flags set on the command
// line win, so call it before fs.Parse... and apply only what was not set.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = usageError{fmt.Sprintf("%s=%q: %v", envName(f.Name), v, e)}
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "BPFDRAFT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseArgs parses flags that may come before or after positional
// arguments and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, applyEnv(fs, getenv)
}
