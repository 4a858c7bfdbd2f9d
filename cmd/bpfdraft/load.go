package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/bpfdraft/bpfdraft/loadgen"
)

// seconds is a duration flag that also takes a plain number of seconds.
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want seconds (30) or a duration (30s, 2m)")
	}
	*s.d = d
	return nil
}

func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c := loadgen.Config{Editors: 10, Rate: 5, Duration: 10 * time.Second, Sections: 1, EditorSample: 10, ViewerSample: 100, DialConcurrency: 64}
	var asJSON, quiet bool
	var cpuProfile, pids string
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Server, "server", "", "URL of the bpfdraft server to load, or comma-separated URLs of several nodes serving the same store (connections spread round-robin; signed in and the document made through the first); each must be a loopback address (required)")
	fs.StringVar(&c.Email, "email", "", emailHelp+"; the run makes its requests and connections signed in as this account (a Secretariat one, to create the document)")
	fs.StringVar(&c.Doc, "doc", "", "document to edit (default: create a fresh bpf-output document)")
	fs.IntVar(&c.Editors, "editors", c.Editors, "editing connections")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "changes per second per editor")
	fs.IntVar(&c.Viewers, "viewers", 0, "idle read-only connections")
	fs.Var(seconds{&c.Duration}, "duration", fmt.Sprintf("how long to edit, in seconds or as a duration (at most %v)", loadgen.MaxDuration))
	fs.IntVar(&c.Sections, "sections", c.Sections, "how many sections the editors spread over (1: all in one, the hardest case)")
	fs.StringVar(&pids, "server-pid", "", "the server's process id, to measure its CPU and memory; with several servers, a comma-separated list, one per server in the order of --server")
	fs.IntVar(&c.EditorSample, "editor-sample", c.EditorSample, "editors that are full clients, applying every update to every section and measuring broadcast latency; the others keep only their own section's text and read frames without decoding them fully")
	fs.BoolVar(&c.PromptReads, "prompt-reads", false, "light editors read every frame as it comes, instead of what has arrived every 25 ms while they wait for nothing (costlier for the generator)")
	fs.IntVar(&c.ViewerSample, "viewer-sample", c.ViewerSample, "viewers that apply every update and measure broadcast latency; the others only check the seq numbers")
	fs.IntVar(&c.DialConcurrency, "dial-concurrency", c.DialConcurrency, "connections opened at once")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed for the edits (0: pick one)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on standard error")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the generator's CPU profile to this file")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("load takes no arguments, got %q", pos)}
	}
	if c.Server == "" {
		return usageError{"--server is required (http://127.0.0.1:PORT)"}
	}
	if c.ServerPIDs, err = loadgen.ParsePIDs(pids); err != nil {
		return usageError{"--server-pid: " + err.Error()}
	}
	if c.Email != "" {
		if c.Password = getenv(passwordEnv); c.Password == "" {
			return usageError{fmt.Sprintf("--email %s: set the environment variable %s to its password", c.Email, passwordEnv)}
		}
	}
	if !quiet {
		c.Logf = func(format string, args ...any) {
			fmt.Fprintf(stderr, "%s load: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, c)
	var refused *loadgen.APIError
	if err != nil && c.Email == "" && errors.As(err, &refused) && signInHint(refused.StatusCode) != "" {
		return fmt.Errorf("%w\n%s", err, signInHint(refused.StatusCode))
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		res.WriteText(stdout)
	}
	if res.GeneratorLimited {
		// A script that records the figures must not take these for the
		// server's.
		return errGeneratorLimited
	}
	return nil
}

// errGeneratorLimited makes a generator-limited run exit with status 1.
var errGeneratorLimited = errors.New("load: the generator, not the server, was the limit of this run: latency not reported")
