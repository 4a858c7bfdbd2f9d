package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/loadgen"
)

// account is a Secretariat account of a data directory.
type account struct{ Email, Password string }

// testAccount is the account addAccount makes.
var testAccount = account{Email: "secretariat@example.org", Password: "password of the Secretariat"}

// addAccount makes testAccount in the data directory with the binary's
// `user add`, the password on its standard input. It must run before a
// server is started on data: the server locks the directory.
func addAccount(t *testing.T, bin, data string) account {
	t.Helper()
	cmd := exec.Command(bin, "user", "add", "--data", data, "--email", testAccount.Email, "--name", "The Secretariat", "--role", "secretariat")
	cmd.Stdin = strings.NewReader(testAccount.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpfdraft user add: %v\n%s", err, out)
	}
	return testAccount
}

// signIn signs in to the server as a; the session's Header carries the
// cookie and the CSRF token for API calls, its SocketHeader the cookie for
// websocket handshakes.
func (p *proc) signIn(t *testing.T, a account) loadgen.Session {
	t.Helper()
	s, err := loadgen.SignIn(t.Context(), nil, p.url(""), a.Email, a.Password)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
