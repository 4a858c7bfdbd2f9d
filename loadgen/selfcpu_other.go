//go:build !unix

package loadgen

import "time"

// selfCPU is not measured on this system: the generator reports 0 cores.
func selfCPU() time.Duration { return 0 }
