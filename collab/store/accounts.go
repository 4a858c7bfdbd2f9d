package store

import (
	"context"
	"errors"
	"time"
)

// Errors of the account capabilities, wrapped with context; check them
// with errors.Is.
var (
	// ErrExpired: an invitation or session past its expiry.
	ErrExpired = errors.New("expired")
	// ErrUsed: an invitation already taken.
	ErrUsed = errors.New("already used")
)

// Account is a person who can sign in: a member of the Secretariat, of a
// BPF's team, or of the public.
type Account struct {
	// ID is stable and never reused.
	ID string `json:"id"`
	// Email is unique among accounts, compared and stored lower-cased.
	Email string `json:"email"`
	// Name is the display name shown to others.
	Name string `json:"name"`
	// PasswordHash is the encoded password hash (never the password);
	// empty for an account that cannot sign in with a password.
	PasswordHash string `json:"password_hash,omitempty"`
	// Secretariat marks a member of the IGF Secretariat; BPF team roles
	// are Memberships.
	Secretariat bool `json:"secretariat,omitempty"`
	// What a member of the public says of themselves.
	Affiliation      string `json:"affiliation,omitempty"`
	StakeholderGroup string `json:"stakeholder_group,omitempty"`
	Country          string `json:"country,omitempty"`
	// NamedInReport: they agree to be named in the published report.
	NamedInReport bool `json:"named_in_report,omitempty"`
	// ConductAccepted is when they accepted the IGF Code of Conduct.
	ConductAccepted time.Time `json:"conduct_accepted,omitzero"`
	Created         time.Time `json:"created"`
	// Disabled accounts cannot sign in.
	Disabled bool `json:"disabled,omitempty"`
}

// Membership gives an account a role in one BPF's team.
type Membership struct {
	BPF     string `json:"bpf"`
	Account string `json:"account"`
	// Role is "mag-facilitator" or "co-facilitator".
	Role  string    `json:"role"`
	Added time.Time `json:"added"`
}

// Accounts keeps accounts and their memberships of BPF teams.
//
// Every method is safe for concurrent use. A method that returns nil has
// made its effect durable before returning; a method that returns an error
// has changed nothing.
type Accounts interface {
	// CreateAccount stores a new account; ErrExists if its id or its
	// email (case-insensitively) is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// GetAccount returns the account with the id, or ErrNotFound.
	GetAccount(ctx context.Context, id string) (*Account, error)
	// AccountByEmail returns the account with the email (compared
	// case-insensitively), or ErrNotFound.
	AccountByEmail(ctx context.Context, email string) (*Account, error)
	// UpdateAccount replaces a stored account (ErrNotFound if there is
	// none; ErrExists if its new email belongs to another account).
	UpdateAccount(ctx context.Context, a *Account) error
	// ListAccounts returns every account, oldest first.
	ListAccounts(ctx context.Context) ([]*Account, error)
	// CountSecretariat returns how many accounts are of the Secretariat.
	CountSecretariat(ctx context.Context) (int, error)

	// SetMembership adds an account to a BPF's team or changes its role
	// there.
	SetMembership(ctx context.Context, m Membership) error
	// RemoveMembership takes an account out of a BPF's team; ErrNotFound
	// if it was not in it.
	RemoveMembership(ctx context.Context, bpf, account string) error
	// Memberships returns the teams an account is in.
	Memberships(ctx context.Context, account string) ([]Membership, error)
	// Members returns a BPF's team, oldest first.
	Members(ctx context.Context, bpf string) ([]Membership, error)
}

// Session is a signed-in browser. Its ID is a hash of the cookie's secret
// token, so a stolen copy of the store cannot sign anyone in.
type Session struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// CSRF is the token state-changing requests of this session must
	// carry.
	CSRF string `json:"csrf"`
}

// Sessions keeps signed-in sessions.
type Sessions interface {
	// CreateSession stores a session; ErrExists if its id is taken.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session with the id, or ErrNotFound (also
	// for one that has expired at now: ErrExpired).
	GetSession(ctx context.Context, id string, now time.Time) (*Session, error)
	// DeleteSession ends a session (signing out); nil if there was none.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessions ends every session of an account (signing out
	// everywhere) and returns how many there were.
	DeleteSessions(ctx context.Context, account string) (int, error)
}

// Invitation lets whoever holds its link join a BPF's team in a role,
// once, before it expires. Its ID is a hash of the link's secret token.
type Invitation struct {
	ID   string `json:"id"`
	BPF  string `json:"bpf"`
	Role string `json:"role"`
	// Note says who it is meant for, for the Secretariat's list.
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	// UsedBy and Used are set when it is taken.
	UsedBy string    `json:"used_by,omitempty"`
	Used   time.Time `json:"used,omitzero"`
	// Revoked invitations cannot be taken.
	Revoked bool `json:"revoked,omitempty"`
}

// Invitations keeps invitations to BPF teams.
type Invitations interface {
	// CreateInvitation stores a new invitation; ErrExists if its id is
	// taken.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// GetInvitation returns the invitation with the id, or ErrNotFound.
	GetInvitation(ctx context.Context, id string) (*Invitation, error)
	// TakeInvitation marks an invitation used by account at now, at most
	// once: ErrNotFound, ErrExpired (past Expires, or revoked) or ErrUsed
	// (taken before, by anyone) otherwise, changing nothing. Of several
	// calls for one invitation, exactly one succeeds.
	TakeInvitation(ctx context.Context, id, account string, now time.Time) (*Invitation, error)
	// RevokeInvitation makes an invitation unusable; ErrNotFound if there
	// is none.
	RevokeInvitation(ctx context.Context, id string) error
	// ListInvitations returns a BPF's invitations, newest first.
	ListInvitations(ctx context.Context, bpf string) ([]*Invitation, error)
}

// AuditEntry is one thing someone did: a sign-in, an invitation, an edit
// session, a phase change, a publication, a moderation, a decision.
type AuditEntry struct {
	// Seq orders the entries, from 1, without gaps; set by AppendAudit.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Account is who did it ("" for someone not signed in), Address where
	// from.
	Account string `json:"account,omitempty"`
	Address string `json:"address,omitempty"`
	// Action names what was done ("sign-in", "phase", ...); BPF and Doc
	// what it was done to, when it concerns one.
	Action string `json:"action"`
	BPF    string `json:"bpf,omitempty"`
	Doc    string `json:"doc,omitempty"`
	// Detail says the rest, for people.
	Detail string `json:"detail,omitempty"`
}

// AuditFilter selects audit entries: all of them when empty.
type AuditFilter struct {
	BPF, Doc, Account, Action string
	// After and Limit page through the log: entries with Seq > After, at
	// most Limit of them (all when Limit <= 0).
	After int64
	Limit int
}

// Audit keeps the audit log: appended to, never changed.
type Audit interface {
	// AppendAudit adds an entry and returns its seq.
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit returns the entries the filter selects, oldest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
