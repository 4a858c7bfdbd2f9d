package collab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
)

// Invitations: the Secretariat invites a BPF's team members with
// one-time links that expire; the link is shown once, to be passed on
// (no mail server needed). Only the SHA-256 of a link's token is stored.
// The first Secretariat account can also come from an invitation with
// the role secretariat: the setup link printed at first start.

// invitationState is what became of an invitation at now.
func invitationState(inv *store.Invitation, now time.Time) string {
	switch {
	case !inv.Used.IsZero():
		return "accepted"
	case inv.Revoked:
		return "revoked"
	case now.After(inv.Expires):
		return "expired"
	}
	return "open"
}

// invitationView is an invitation as the API shows it (never its token;
// Link only in the answer that created it).
type invitationView struct {
	ID      string    `json:"id"`
	BPF     string    `json:"bpf"`
	Role    string    `json:"role"`
	Note    string    `json:"note,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	State   string    `json:"state"`
	UsedBy  string    `json:"used_by,omitempty"`
	Link    string    `json:"link,omitempty"`
}

func (s *Server) viewOfInvitation(inv *store.Invitation) invitationView {
	return invitationView{ID: inv.ID, BPF: inv.BPF, Role: inv.Role, Note: inv.Note, Created: inv.Created, Expires: inv.Expires,
		State: invitationState(inv, s.now()), UsedBy: inv.UsedBy}
}

type inviteRequest struct {
	Role string `json:"role"`
	Note string `json:"note"`
}

// invite makes an invitation to a BPF's team and returns its link path
// (/join/TOKEN).
func (s *Server) invite(r *http.Request, bpf string, req inviteRequest) (*store.Invitation, string, error) {
	role := access.Role(req.Role)
	if role != access.MAGFacilitator && role != access.CoFacilitator {
		return nil, "", &failure{status: http.StatusBadRequest, code: "invalid", msg: "the role is mag-facilitator or co-facilitator"}
	}
	note := strings.TrimSpace(req.Note)
	if len(note) > 200 || strings.ContainsAny(note, "\r\n") {
		return nil, "", &failure{status: http.StatusBadRequest, code: "invalid", msg: "the note is one line of at most 200 bytes"}
	}
	if _, err := s.store.GetBPF(r.Context(), bpf); err != nil {
		return nil, "", err
	}
	return s.newInvitation(r.Context(), r, bpf, string(role), note)
}

func (s *Server) newInvitation(ctx context.Context, r *http.Request, bpf, role, note string) (*store.Invitation, string, error) {
	secret, id := token()
	now := s.now().UTC()
	inv := &store.Invitation{ID: id, BPF: bpf, Role: role, Note: note, Created: now, Expires: now.Add(s.cfg.InvitationLifetime)}
	if r != nil {
		if w := whoOf(r); w.account != nil {
			inv.CreatedBy = w.account.ID
		}
	}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return nil, "", err
	}
	s.audit(ctx, r, "invitation created", bpf, "", fmt.Sprintf("%s %s", role, note))
	return inv, "/join/" + secret, nil
}

// SetupLink returns the path of a one-time link (/join/TOKEN) that makes
// the first Secretariat account, when there is none yet; "" when there
// is. Earlier setup links are revoked: only the last one printed works.
func (s *Server) SetupLink(ctx context.Context) (string, error) {
	n, err := s.store.CountSecretariat(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	old, err := s.store.ListInvitations(ctx, "")
	if err != nil {
		return "", err
	}
	for _, inv := range old {
		if inv.Role == string(access.Secretariat) && inv.Used.IsZero() && !inv.Revoked {
			if err := s.store.RevokeInvitation(ctx, inv.ID); err != nil {
				return "", err
			}
		}
	}
	_, link, err := s.newInvitation(ctx, nil, "", string(access.Secretariat), "setup: the first Secretariat account")
	return link, err
}

// acceptInvitation makes acct what the invitation says (a member of the
// BPF's team, or of the Secretariat), taking it atomically: a used,
// revoked or expired invitation is refused and changes nothing.
func (s *Server) acceptInvitation(r *http.Request, secret string, acct *store.Account) (*store.Invitation, error) {
	ctx := r.Context()
	inv, err := s.store.TakeInvitation(ctx, tokenID(secret), acct.ID, s.now())
	switch {
	case errors.Is(err, store.ErrUsed):
		return nil, &failure{status: http.StatusGone, code: "invitation_used", msg: "this invitation has been used already; ask the Secretariat for a new one"}
	case errors.Is(err, store.ErrExpired):
		return nil, &failure{status: http.StatusGone, code: "invitation_expired", msg: "this invitation has expired or was withdrawn; ask the Secretariat for a new one"}
	case errors.Is(err, store.ErrNotFound):
		return nil, &failure{status: http.StatusNotFound, code: "not_found", msg: "there is no such invitation; check the link"}
	case err != nil:
		return nil, err
	}
	if inv.Role == string(access.Secretariat) {
		acct.Secretariat = true
		err = s.store.UpdateAccount(ctx, acct)
	} else {
		err = s.store.SetMembership(ctx, store.Membership{BPF: inv.BPF, Account: acct.ID, Role: inv.Role, Added: s.now().UTC()})
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, r.WithContext(withWho(r, acct)), "invitation accepted", inv.BPF, "", inv.Role)
	return inv, nil
}

// joinInvitation accepts an invitation (its token in the path) for the
// signed-in account: the API twin of the join page.
func (s *Server) joinInvitation(w http.ResponseWriter, r *http.Request) {
	inv, err := s.acceptInvitation(r, r.PathValue("token"), whoOf(r).account)
	if err != nil {
		s.refuse(w, r, "invitation", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"bpf": inv.BPF, "role": inv.Role})
}

// The team API (the Secretariat).

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) {
	var req inviteRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	inv, link, err := s.invite(r, r.PathValue("id"), req)
	if err != nil {
		s.refuse(w, r, "bpf", err)
		return
	}
	v := s.viewOfInvitation(inv)
	v.Link = s.absolute(r, link)
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListInvitations(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "bpf", err)
		return
	}
	out := []invitationView{}
	for _, inv := range list {
		out = append(out, s.viewOfInvitation(inv))
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": out})
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	if err := s.revoke(r, r.PathValue("id"), r.PathValue("inv")); err != nil {
		s.refuse(w, r, "invitation", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revoke withdraws an open invitation of a BPF.
func (s *Server) revoke(r *http.Request, bpf, id string) error {
	inv, err := s.store.GetInvitation(r.Context(), id)
	if err != nil || inv.BPF != bpf {
		return &failure{status: http.StatusNotFound, code: "not_found", msg: "this BPF has no such invitation"}
	}
	if err := s.store.RevokeInvitation(r.Context(), id); err != nil {
		return err
	}
	s.audit(r.Context(), r, "invitation revoked", bpf, "", inv.Role+" "+inv.Note)
	return nil
}

// memberView is a member of a BPF's team.
type memberView struct {
	Account string    `json:"account"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	Added   time.Time `json:"added"`
}

func (s *Server) members(ctx context.Context, bpf string) ([]memberView, error) {
	ms, err := s.store.Members(ctx, bpf)
	if err != nil {
		return nil, err
	}
	out := []memberView{}
	for _, m := range ms {
		v := memberView{Account: m.Account, Role: m.Role, Added: m.Added}
		if a, err := s.store.GetAccount(ctx, m.Account); err == nil {
			v.Name, v.Email = a.Name, a.Email
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := s.members(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "bpf", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": ms})
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := s.removeFromTeam(r, r.PathValue("id"), r.PathValue("account")); err != nil {
		s.refuse(w, r, "member", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeFromTeam(r *http.Request, bpf, account string) error {
	if err := s.store.RemoveMembership(r.Context(), bpf, account); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &failure{status: http.StatusNotFound, code: "not_found", msg: "this person is not in the BPF's team"}
		}
		return err
	}
	s.revokeAccount(account)
	s.audit(r.Context(), r, "member removed", bpf, "", account)
	return nil
}

// absolute makes a path into a link to pass on: on the configured public
// origin, or the host the request came to.
func (s *Server) absolute(r *http.Request, path string) string {
	if len(s.cfg.PublicOrigins) > 0 {
		return s.cfg.PublicOrigins[0] + path
	}
	scheme := "http"
	if s.secureCookies(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}
