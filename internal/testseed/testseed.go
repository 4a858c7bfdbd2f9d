// Package testseed gives randomized tests their seed: a new one each run,
// logged, or the one in BPFDRAFT_TEST_SEED, to run a failure again.
package testseed

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Env names the variable that sets the seed.
const Env = "BPFDRAFT_TEST_SEED"

// Seed returns the seed of t's random choices, from Env when set, else
// from the clock, and logs it with how to repeat the run.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(Env); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", Env, v, err)
		}
		seed = n
	}
	t.Logf("seed %d (%s=%d repeats this run)", seed, Env, seed)
	return seed
}
