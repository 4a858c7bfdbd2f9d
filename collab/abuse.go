package collab

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Limits for a public site, each refused with a clear error: sign-ins and
// sign-ups (people.go), creations of BPFs and documents and edits per
// account and per address, open websockets per account and per address.
// The counters live in this process: behind several nodes each node
// counts its own.

// abuseLimits are the server's counters.
type abuseLimits struct {
	creations *limiter
	edits     *limiter
	comments  *limiter
	sockets   *socketCounter
}

func newAbuseLimits(c Config) *abuseLimits {
	return &abuseLimits{
		creations: newLimiter(c.CreationsPerHour, time.Hour),
		edits:     newLimiter(c.EditsPerMinute, time.Minute),
		comments:  newLimiter(c.CommentsPerHour, time.Hour),
		sockets:   &socketCounter{perAccount: c.SocketsPerAccount, perAddress: c.SocketsPerAddress, open: map[string]int{}},
	}
}

// limitKeys are the keys a request is counted under: its address, and
// its account when signed in.
func (s *Server) limitKeys(r *http.Request) []string {
	keys := []string{"address " + s.clientAddress(r)}
	if w := whoOf(r); w.account != nil {
		keys = append(keys, "account "+w.account.ID)
	}
	return keys
}

// allowAll counts one attempt under every key; the first refusal wins.
func (l *limiter) allowAll(keys []string, now time.Time) (bool, time.Duration) {
	if l.max < 0 {
		return true, 0
	}
	for _, k := range keys {
		if ok, wait := l.allow(k, now); !ok {
			return false, wait
		}
	}
	return true, 0
}

// allowCreation counts the creation of a BPF or a document.
func (s *Server) allowCreation(r *http.Request) error {
	if ok, wait := s.abuse.creations.allowAll(s.limitKeys(r), s.now()); !ok {
		return tooManyFailure(wait, "BPFs and documents created")
	}
	return nil
}

// socketCounter counts open websockets per account and per address.
type socketCounter struct {
	mu                     sync.Mutex
	perAccount, perAddress int
	open                   map[string]int
}

// acquire counts a new websocket of account ("" for none) from address,
// or refuses it with what is over its cap; release undoes it, once.
func (c *socketCounter) acquire(account, address string) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := []string{"address " + address}
	caps := []int{c.perAddress}
	if account != "" {
		keys, caps = append(keys, "account "+account), append(caps, c.perAccount)
	}
	for i, k := range keys {
		if caps[i] > 0 && c.open[k] >= caps[i] {
			what := "this address"
			if i == 1 {
				what = "this account"
			}
			return nil, &failure{status: http.StatusTooManyRequests, code: "rate_limited", retry: 10 * time.Second,
				msg: fmt.Sprintf("too many open connections for %s (at most %d); close some tabs", what, caps[i])}
		}
	}
	for _, k := range keys {
		c.open[k]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, k := range keys {
				if c.open[k]--; c.open[k] <= 0 {
					delete(c.open, k)
				}
			}
		})
	}, nil
}
