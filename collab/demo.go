package collab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// The demo: a sample BPF with a partly written output document and one
// account per role, so that a new user sees every role within a minute.

// DemoAccount is a demo account and its password (new at every start).
type DemoAccount struct {
	Role     access.Role
	Email    string
	Password string
}

const (
	demoBPF = "demo-bpf"
	demoDoc = "demo-output"
)

// DemoDocument is the path of the demo's document.
const DemoDocument = "/edit/" + demoDoc

// demoText is what the demo's team has written so far, by section.
var demoText = map[string]string{
	"issues": "This Best Practice Forum looked at how small and medium enterprises in developing economies protect themselves online, " +
		"and at what helps them most: shared incident reporting, simple baseline controls, and advice they can afford.\n\n" +
		"It builds on the work of earlier Best Practice Forums on cybersecurity.",
	"methodology": "The forum held open virtual meetings every month from March, ran a public survey in four languages, " +
		"and invited case studies from every stakeholder group.",
}

// Demo makes (or refreshes) the demo: the BPF, its document and an
// account per role, each with a new password, returned to be printed.
func (s *Server) Demo(ctx context.Context) ([]DemoAccount, error) {
	now := s.now().UTC()
	meeting := now.AddDate(0, 0, 8*7).Format(time.DateOnly)
	if _, err := s.store.GetBPF(ctx, demoBPF); errors.Is(err, store.ErrNotFound) {
		b := &editor.BPF{ID: demoBPF, Name: "Best Practice Forum on Cybersecurity (demo)", Year: now.Year(), MeetingDate: meeting, Created: now}
		if err := s.store.PutBPF(ctx, b); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if _, err := s.store.Head(ctx, demoDoc); errors.Is(err, store.ErrNotFound) {
		tmpl, err := editor.LookupTemplate("bpf-output")
		if err != nil {
			return nil, err
		}
		doc := tmpl.NewDocument(demoDoc, "Cybersecurity for small enterprises: output 2026 (demo)", now)
		doc.BPF = demoBPF
		for i := range doc.Sections {
			if t, ok := demoText[doc.Sections[i].ID]; ok {
				doc.Sections[i].Text = t
			}
		}
		doc.AssignParagraphIDs()
		if err := s.store.CreateDocument(ctx, doc); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	var out []DemoAccount
	for _, role := range []access.Role{access.Secretariat, access.MAGFacilitator, access.CoFacilitator, access.Public} {
		a, err := s.demoAccount(ctx, role, now)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *Server) demoAccount(ctx context.Context, role access.Role, now time.Time) (DemoAccount, error) {
	password, _ := token()
	password = password[:16]
	email := string(role) + "@demo.bpfdraft.invalid"
	acct, err := NewAccount("demo-"+string(role), email, demoNames[role], password, s.cfg.PasswordCost, now)
	if err != nil {
		return DemoAccount{}, err
	}
	acct.Secretariat = role == access.Secretariat
	if role == access.Public {
		acct.StakeholderGroup, acct.Country, acct.NamedInReport, acct.ConductAccepted = "civil society", "Brazil", true, now
	}
	if old, err := s.store.GetAccount(ctx, acct.ID); err == nil {
		acct.Created = old.Created
		err = s.store.UpdateAccount(ctx, acct)
		if err != nil {
			return DemoAccount{}, err
		}
	} else if errors.Is(err, store.ErrNotFound) {
		if err := s.store.CreateAccount(ctx, acct); err != nil {
			return DemoAccount{}, fmt.Errorf("demo account %s: %w", email, err)
		}
	} else {
		return DemoAccount{}, err
	}
	if role == access.MAGFacilitator || role == access.CoFacilitator {
		if err := s.store.SetMembership(ctx, store.Membership{BPF: demoBPF, Account: acct.ID, Role: string(role), Added: now}); err != nil {
			return DemoAccount{}, err
		}
	}
	return DemoAccount{Role: role, Email: email, Password: password}, nil
}

var demoNames = map[access.Role]string{
	access.Secretariat:    "Sam of the Secretariat",
	access.MAGFacilitator: "Maria, MAG facilitator",
	access.CoFacilitator:  "Chen, co-facilitator",
	access.Public:         "Paula of the public",
}
