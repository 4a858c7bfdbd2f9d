package testseed

import (
	"testing"
)

func TestSeedFromEnv(t *testing.T) {
	t.Setenv(Env, "12345")
	if got := Seed(t); got != 12345 {
		t.Fatalf("Seed with %s=12345 = %d", Env, got)
	}
	a := Seed(t)
	if b := Seed(t); a != b {
		t.Fatalf("two seeds from one setting: %d, %d", a, b)
	}
}
