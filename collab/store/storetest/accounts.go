package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// NewAccounts returns an empty store.Accounts for one subtest; it releases
// what it holds with t.Cleanup.
type NewAccounts func(t *testing.T) store.Accounts

// RunAccounts runs the conformance tests of store.Accounts as named
// subtests:
//
//   - CreateAndGet: every field reads back, by id and by email in any
//     case; the email is stored lower-cased.
//   - DuplicateID: ErrExists on a taken id, whatever the email; the first
//     account is unchanged and the refused email is not taken.
//   - DuplicateEmail: ErrExists on an email taken in another case; the
//     refused account is not stored.
//   - ConcurrentEmail (random): creators racing with one email in different
//     cases and different ids; exactly one wins, every other gets ErrExists.
//   - Update: name and email replaced; the old email is free (lookup
//     ErrNotFound, usable by a new account), the new one found in any
//     case; an account may change the case of its own email.
//   - UpdateStealsEmail: an update to another account's email (in another
//     case) is ErrExists and changes nothing, the other's email included.
//   - UpdateNotFound: an update of an unknown id is ErrNotFound and stores
//     nothing.
//   - List: oldest first by Created, neither by id nor by when stored.
//   - CountSecretariat: counts Secretariat accounts only, through creates
//     and updates both ways.
//   - NotFound: GetAccount and AccountByEmail of unknown ones are
//     ErrNotFound.
//   - Memberships: SetMembership adds, a second call changes the role
//     (keeping when the member was added); Members lists a team oldest
//     first, Memberships an account's teams; RemoveMembership takes one
//     out, and is ErrNotFound for one not in the team (and again).
//   - Empty: no accounts, no secretariat, no members, no teams, no error.
func RunAccounts(t *testing.T, newAccounts NewAccounts) {
	runAll(t, newAccounts, []subtest[store.Accounts]{
		{"CreateAndGet", testCreateAccount},
		{"DuplicateID", testDuplicateAccountID},
		{"DuplicateEmail", testDuplicateEmail},
		{"ConcurrentEmail", testConcurrentEmail},
		{"Update", testUpdateAccount},
		{"UpdateStealsEmail", testUpdateStealsEmail},
		{"UpdateNotFound", testUpdateAccountNotFound},
		{"List", testListAccounts},
		{"CountSecretariat", testCountSecretariat},
		{"NotFound", testAccountNotFound},
		{"Memberships", testMemberships},
		{"Empty", testEmptyAccounts},
	})
}

// account returns an account with every field set, created hours after t0.
func account(id, email string, hours int) *store.Account {
	return &store.Account{
		ID: id, Email: email, Name: "Person " + id, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Affiliation: "Example University", StakeholderGroup: "academia", Country: "KE", NamedInReport: true,
		ConductAccepted: t0.Add(time.Duration(hours)*time.Hour - time.Minute),
		Created:         t0.Add(time.Duration(hours) * time.Hour),
	}
}

// sameJSON checks that got and want encode alike: every field, times by
// instant and location.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s: got %s; want %s", what, g, w)
	}
}

func mustCreateAccount(t *testing.T, s store.Accounts, a *store.Account) {
	t.Helper()
	if err := s.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.ID, err)
	}
}

// lowered returns a copy of a with its email lower-cased, as stored.
func lowered(a *store.Account) *store.Account {
	c := *a
	c.Email = strings.ToLower(c.Email)
	return &c
}

func testCreateAccount(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	a := account("a1", "Ana.Silva@Example.ORG", 0)
	a.Secretariat, a.Disabled = true, true
	mustCreateAccount(t, s, a)
	want := lowered(a)
	got, err := s.GetAccount(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetAccount", got, want)
	for _, email := range []string{"ana.silva@example.org", "ANA.SILVA@EXAMPLE.ORG", "Ana.Silva@Example.ORG"} {
		got, err := s.AccountByEmail(ctx, email)
		if err != nil {
			t.Fatalf("AccountByEmail(%s): %v", email, err)
		}
		sameJSON(t, "AccountByEmail("+email+")", got, want)
	}
	// Nothing returned refers to the store: changing it changes nothing.
	got.Name = "Changed"
	if again, _ := s.GetAccount(ctx, "a1"); again.Name != a.Name {
		t.Fatalf("GetAccount after changing a returned account: name %q; want %q", again.Name, a.Name)
	}
}

func testDuplicateAccountID(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	a := account("a1", "ana@example.org", 0)
	mustCreateAccount(t, s, a)
	other := account("a1", "other@example.org", 1)
	other.Name = "Impostor"
	if err := s.CreateAccount(ctx, other); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateAccount(same id) = %v; want ErrExists", err)
	}
	got, err := s.GetAccount(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetAccount after a refused duplicate", got, a)
	if _, err := s.AccountByEmail(ctx, "other@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountByEmail(refused email) = %v; want ErrNotFound", err)
	}
	mustCreateAccount(t, s, account("a2", "other@example.org", 1))
}

func testDuplicateEmail(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	a := account("a1", "ana@example.org", 0)
	mustCreateAccount(t, s, a)
	for i, email := range []string{"ana@example.org", "Ana@Example.org", "ANA@EXAMPLE.ORG"} {
		id := fmt.Sprintf("b%d", i)
		if err := s.CreateAccount(ctx, account(id, email, 1)); !errors.Is(err, store.ErrExists) {
			t.Fatalf("CreateAccount(%s, %s) = %v; want ErrExists", id, email, err)
		}
		if _, err := s.GetAccount(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetAccount(%s) after a refused create = %v; want ErrNotFound", id, err)
		}
	}
	got, err := s.AccountByEmail(ctx, "ana@example.org")
	if err != nil || got.ID != "a1" {
		t.Fatalf("AccountByEmail = %+v, %v; want a1", got, err)
	}
	if list, err := s.ListAccounts(ctx); err != nil || len(list) != 1 {
		t.Fatalf("ListAccounts = %d accounts, %v; want 1", len(list), err)
	}
}

func testConcurrentEmail(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	rnd := seeded(t)
	for round := range 10 {
		email := fmt.Sprintf("person%d@example.org", round)
		n := 2 + rnd.IntN(7)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			// A random case for each letter.
			cased := []rune(email)
			for j := range cased {
				if rnd.IntN(2) == 0 {
					cased[j] = []rune(strings.ToUpper(string(cased[j])))[0]
				}
			}
			a := account(fmt.Sprintf("r%dc%d", round, i), string(cased), round)
			wg.Go(func() {
				<-start
				errs[i] = s.CreateAccount(ctx, a)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: creators %d and %d both took %s", round, winner, i, email)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrExists):
				t.Fatalf("round %d: creator %d: %v; want nil or ErrExists", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: all %d creators refused", round, n)
		}
		got, err := s.AccountByEmail(ctx, email)
		if want := fmt.Sprintf("r%dc%d", round, winner); err != nil || got.ID != want {
			t.Fatalf("round %d: AccountByEmail = %+v, %v; want %s", round, got, err, want)
		}
		for i := range n {
			if _, err := s.GetAccount(ctx, fmt.Sprintf("r%dc%d", round, i)); i != winner && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: GetAccount of refused creator %d = %v; want ErrNotFound", round, i, err)
			}
		}
	}
}

func testUpdateAccount(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	a := account("a1", "ana@example.org", 0)
	mustCreateAccount(t, s, a)
	a.Name, a.Email, a.Country, a.Disabled = "Ana S.", "Ana@New.Example.org", "BR", true
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetAccount after UpdateAccount", got, lowered(a))
	if got, err := s.AccountByEmail(ctx, "ANA@new.example.ORG"); err != nil || got.ID != "a1" {
		t.Fatalf("AccountByEmail(new email) = %+v, %v; want a1", got, err)
	}
	if _, err := s.AccountByEmail(ctx, "ana@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountByEmail(old email) = %v; want ErrNotFound", err)
	}
	// The old email is free for someone else.
	mustCreateAccount(t, s, account("a2", "Ana@Example.org", 1))
	// Only another account's email is refused: a1 may recase its own.
	a.Email = "ANA@NEW.EXAMPLE.ORG"
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatalf("UpdateAccount(own email in another case) = %v; want nil", err)
	}
	if got, err := s.AccountByEmail(ctx, "ana@new.example.org"); err != nil || got.ID != "a1" || got.Email != "ana@new.example.org" {
		t.Fatalf("AccountByEmail after recasing = %+v, %v; want a1 with the email lower-cased", got, err)
	}
}

func testUpdateStealsEmail(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	a, b := account("a1", "ana@example.org", 0), account("b1", "bo@example.org", 1)
	mustCreateAccount(t, s, a)
	mustCreateAccount(t, s, b)
	thief := *b
	thief.Email, thief.Name = "ANA@example.org", "Bo, renamed"
	if err := s.UpdateAccount(ctx, &thief); !errors.Is(err, store.ErrExists) {
		t.Fatalf("UpdateAccount(another's email) = %v; want ErrExists", err)
	}
	got, err := s.GetAccount(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetAccount(b1) after a refused update", got, b)
	for email, id := range map[string]string{"ana@example.org": "a1", "bo@example.org": "b1"} {
		if got, err := s.AccountByEmail(ctx, email); err != nil || got.ID != id {
			t.Fatalf("AccountByEmail(%s) after a refused update = %+v, %v; want %s", email, got, err, id)
		}
	}
}

func testUpdateAccountNotFound(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	if err := s.UpdateAccount(ctx, account("ghost", "ghost@example.org", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateAccount(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := s.GetAccount(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAccount after a refused update = %v; want ErrNotFound", err)
	}
	if _, err := s.AccountByEmail(ctx, "ghost@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountByEmail after a refused update = %v; want ErrNotFound", err)
	}
}

func accountIDs(list []*store.Account) string {
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	return strings.Join(ids, ",")
}

func testListAccounts(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	// Neither the order of creation nor the ids' order is the creation
	// times' order.
	for _, x := range []struct {
		id    string
		hours int
	}{{"a", 2}, {"c", 1}, {"b", 0}, {"d", 3}} {
		mustCreateAccount(t, s, account(x.id, x.id+"@example.org", x.hours))
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || accountIDs(list) != "b,c,a,d" {
		t.Fatalf("ListAccounts = %s, %v; want b,c,a,d", accountIDs(list), err)
	}
	sameJSON(t, "listed account", list[0], account("b", "b@example.org", 0))
}

func testCountSecretariat(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	count := func(want int) {
		t.Helper()
		if n, err := s.CountSecretariat(ctx); err != nil || n != want {
			t.Fatalf("CountSecretariat = %d, %v; want %d", n, err, want)
		}
	}
	count(0)
	a, b, c := account("a", "a@example.org", 0), account("b", "b@example.org", 1), account("c", "c@example.org", 2)
	a.Secretariat, c.Secretariat = true, true
	for _, x := range []*store.Account{a, b, c} {
		mustCreateAccount(t, s, x)
	}
	count(2)
	b.Secretariat = true
	if err := s.UpdateAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	count(3)
	a.Secretariat = false
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	count(2)
}

func testAccountNotFound(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	mustCreateAccount(t, s, account("a1", "ana@example.org", 0))
	if _, err := s.GetAccount(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccount(unknown) = %v; want ErrNotFound", err)
	}
	for _, email := range []string{"nope@example.org", "ana@example.or", "ana@example.org.", ""} {
		if _, err := s.AccountByEmail(ctx, email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AccountByEmail(%q) = %v; want ErrNotFound", email, err)
		}
	}
}

func membership(bpf, account, role string, hours int) store.Membership {
	return store.Membership{BPF: bpf, Account: account, Role: role, Added: t0.Add(time.Duration(hours) * time.Hour)}
}

func testMemberships(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	for i, id := range []string{"ana", "bo", "cy"} {
		mustCreateAccount(t, s, account(id, id+"@example.org", i))
	}
	set := func(m store.Membership) {
		t.Helper()
		if err := s.SetMembership(ctx, m); err != nil {
			t.Fatalf("SetMembership(%+v): %v", m, err)
		}
	}
	// Added out of id order, so that "oldest first" is seen.
	set(membership("cyber", "cy", "co-facilitator", 0))
	set(membership("cyber", "ana", "mag-facilitator", 1))
	set(membership("cyber", "bo", "co-facilitator", 2))
	set(membership("ai", "ana", "co-facilitator", 3))
	members := func(bpf string, want ...store.Membership) {
		t.Helper()
		got, err := s.Members(ctx, bpf)
		if err != nil {
			t.Fatalf("Members(%s): %v", bpf, err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		sameJSON(t, "Members("+bpf+")", got, want)
	}
	teams := func(account string, want ...store.Membership) {
		t.Helper()
		got, err := s.Memberships(ctx, account)
		if err != nil {
			t.Fatalf("Memberships(%s): %v", account, err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		// The contract gives no order.
		slices.SortFunc(got, func(a, b store.Membership) int { return strings.Compare(a.BPF, b.BPF) })
		sameJSON(t, "Memberships("+account+")", got, want)
	}
	members("cyber", membership("cyber", "cy", "co-facilitator", 0), membership("cyber", "ana", "mag-facilitator", 1), membership("cyber", "bo", "co-facilitator", 2))
	members("ai", membership("ai", "ana", "co-facilitator", 3))
	teams("ana", membership("ai", "ana", "co-facilitator", 3), membership("cyber", "ana", "mag-facilitator", 1))
	teams("bo", membership("cyber", "bo", "co-facilitator", 2))

	// A change of role is not a new membership: it keeps its place.
	set(membership("cyber", "cy", "mag-facilitator", 9))
	members("cyber", membership("cyber", "cy", "mag-facilitator", 0), membership("cyber", "ana", "mag-facilitator", 1), membership("cyber", "bo", "co-facilitator", 2))
	teams("cy", membership("cyber", "cy", "mag-facilitator", 0))

	if err := s.RemoveMembership(ctx, "cyber", "ana"); err != nil {
		t.Fatal(err)
	}
	members("cyber", membership("cyber", "cy", "mag-facilitator", 0), membership("cyber", "bo", "co-facilitator", 2))
	teams("ana", membership("ai", "ana", "co-facilitator", 3))
	for _, x := range [][2]string{{"cyber", "ana"}, {"ai", "bo"}, {"nope", "ana"}, {"cyber", "nobody"}} {
		if err := s.RemoveMembership(ctx, x[0], x[1]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RemoveMembership(%s, %s) = %v; want ErrNotFound", x[0], x[1], err)
		}
	}
	members("cyber", membership("cyber", "cy", "mag-facilitator", 0), membership("cyber", "bo", "co-facilitator", 2))
	// Back in, as new: added now.
	set(membership("cyber", "ana", "co-facilitator", 4))
	members("cyber", membership("cyber", "cy", "mag-facilitator", 0), membership("cyber", "bo", "co-facilitator", 2), membership("cyber", "ana", "co-facilitator", 4))
	members("nope")
	teams("nobody")
}

func testEmptyAccounts(t *testing.T, s store.Accounts) {
	ctx := context.Background()
	if list, err := s.ListAccounts(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListAccounts = %v, %v; want none", list, err)
	}
	if n, err := s.CountSecretariat(ctx); err != nil || n != 0 {
		t.Errorf("CountSecretariat = %d, %v; want 0", n, err)
	}
	if list, err := s.Members(ctx, "b1"); err != nil || len(list) != 0 {
		t.Errorf("Members = %v, %v; want none", list, err)
	}
	if list, err := s.Memberships(ctx, "a1"); err != nil || len(list) != 0 {
		t.Errorf("Memberships = %v, %v; want none", list, err)
	}
}
