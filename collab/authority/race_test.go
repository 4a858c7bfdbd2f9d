//go:build race

package authority

// raceEnabled: the race detector slows the single-goroutine authority
// down tenfold and finds nothing in it; its random tests run fewer
// schedules then.
const raceEnabled = true
