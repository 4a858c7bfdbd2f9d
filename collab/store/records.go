package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bpfdraft/bpfdraft/editor"
)

// The records the stores keep, encoded and decoded one way for all of
// them: JSON, with the id a record is kept under checked against the id
// it names. A record that cannot be decoded is ErrCorrupt, named.

// Corrupt names a record that could not be decoded.
func Corrupt(record string, err error) error {
	return fmt.Errorf("%s: %w: %w", record, ErrCorrupt, err)
}

// NeedID refuses an empty id, which no store can keep as a key.
func NeedID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%s without an id", kind)
	}
	return nil
}

// NormEmail is how emails are stored and compared.
func NormEmail(email string) string { return strings.ToLower(email) }

// decodeRecord decodes the record v, kept as record, checking with named
// that it names what it is kept under.
func decodeRecord[T any](record string, v []byte, named func(*T) error) (*T, error) {
	var r T
	err := json.Unmarshal(v, &r)
	if err == nil {
		err = named(&r)
	}
	if err != nil {
		return nil, Corrupt(record, err)
	}
	return &r, nil
}

// DecodeBPF decodes the BPF record stored under id.
func DecodeBPF(id string, v []byte) (*editor.BPF, error) {
	return decodeRecord("bpf "+id, v, func(b *editor.BPF) error {
		if b.ID != id {
			return fmt.Errorf("record names BPF %q", b.ID)
		}
		return nil
	})
}

// DecodeSnapshot decodes the snapshot of the document id.
func DecodeSnapshot(id string, v []byte) (*editor.Document, error) {
	return decodeRecord(fmt.Sprintf("document %s snapshot", id), v, func(doc *editor.Document) error {
		if doc.ID != id {
			return fmt.Errorf("snapshot names document %q", doc.ID)
		}
		return nil
	})
}

// EncodeDocument returns a document's snapshot and listing entry as
// stored.
func EncodeDocument(doc *editor.Document) (snap, info []byte, err error) {
	if snap, err = json.Marshal(doc); err != nil {
		return nil, nil, err
	}
	info, err = json.Marshal(InfoOf(doc))
	return snap, info, err
}

// DecodeAccount decodes the account record stored under id.
func DecodeAccount(id string, v []byte) (*Account, error) {
	return decodeRecord("account "+id, v, func(a *Account) error {
		if a.ID != id {
			return fmt.Errorf("record names account %q", a.ID)
		}
		return nil
	})
}

// EncodeAccount returns the account as stored (its email lower-cased),
// without changing the caller's.
func EncodeAccount(a *Account) (email string, data []byte, err error) {
	if err := NeedID("account", a.ID); err != nil {
		return "", nil, err
	}
	email = NormEmail(a.Email)
	if email == "" {
		return "", nil, fmt.Errorf("account %s has no email", a.ID)
	}
	c := *a
	c.Email = email
	data, err = json.Marshal(&c)
	return email, data, err
}

// DecodeMembership decodes the membership record of account in bpf.
func DecodeMembership(bpf, account string, v []byte) (Membership, error) {
	m, err := decodeRecord(fmt.Sprintf("membership of account %s in BPF %s", account, bpf), v, func(m *Membership) error {
		if m.BPF != bpf || m.Account != account {
			return fmt.Errorf("record names account %q in BPF %q", m.Account, m.BPF)
		}
		return nil
	})
	if err != nil {
		return Membership{}, err
	}
	return *m, nil
}

// DecodeInvitation decodes the invitation record stored under id.
func DecodeInvitation(id string, v []byte) (*Invitation, error) {
	return decodeRecord("invitation "+id, v, func(inv *Invitation) error {
		if inv.ID != id {
			return fmt.Errorf("record names invitation %q", inv.ID)
		}
		return nil
	})
}

// DecodeSession decodes the session record stored under id.
func DecodeSession(id string, v []byte) (*Session, error) {
	return decodeRecord("session "+id, v, func(s *Session) error {
		if s.ID != id {
			return fmt.Errorf("record names session %q", s.ID)
		}
		return nil
	})
}

// CountSecretariat counts the Secretariat's accounts in what ListAccounts
// returned: the readable accounts, the unreadable ones reported in err.
func CountSecretariat(list []*Account, err error) (int, error) {
	if list == nil && err != nil {
		return 0, err
	}
	n := 0
	for _, a := range list {
		if a.Secretariat {
			n++
		}
	}
	return n, err
}
