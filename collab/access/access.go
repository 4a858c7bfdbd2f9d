// Package access is bpfdraft's permission matrix: who may do what to a
// document, and when. It is the one place the rules live; the HTTP
// routes, the websocket's session and the authority's commands all ask
// Check, and docs/permissions.md is rendered from Matrix.
//
// It is pure: the caller says who the person is (their Role for the
// document's BPF) and where the document stands (Context, with the comment
// window already compared with the server's clock).
package access

import (
	"fmt"
	"strings"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Role is what a person is for one document: derived from their account
// and their memberships of the document's BPF team.
type Role string

// The roles, from the least to the most trusted.
const (
	// Anonymous: not signed in.
	Anonymous Role = "anonymous"
	// Public: a registered member of the public (who has accepted the
	// Code of Conduct).
	Public Role = "public"
	// CoFacilitator and MAGFacilitator are the BPF's team.
	CoFacilitator  Role = "co-facilitator"
	MAGFacilitator Role = "mag-facilitator"
	// Secretariat: the IGF Secretariat, neutral editor and rapporteur of
	// every BPF.
	Secretariat Role = "secretariat"
)

// Roles lists every role, in the matrix's order.
var Roles = []Role{Anonymous, Public, CoFacilitator, MAGFacilitator, Secretariat}

// team reports whether a role writes the document.
func (r Role) team() bool { return r == CoFacilitator || r == MAGFacilitator || r == Secretariat }

// Action is something a person may ask to do.
type Action string

// The actions.
const (
	// ReadDraft: read the live text while it is not published (drafting
	// and revision, unless the Secretariat made the draft public).
	ReadDraft Action = "read the live draft"
	// ReadPublished: read the version opened for comment, or the final.
	ReadPublished Action = "read what is published"
	// EditText: change the sections' text.
	EditText Action = "edit text"
	// EditStructure: add, rename, reorder or remove custom sections;
	// rename the document.
	EditStructure Action = "edit structure"
	// Comment and Suggest: annotate the published draft.
	Comment Action = "comment"
	Suggest Action = "suggest a change"
	// Moderate: hide or restore comments.
	Moderate Action = "moderate"
	// ProposeDecision: propose what to do with a comment or suggestion.
	ProposeDecision Action = "propose a decision"
	// Decide: accept or reject suggestions, give dispositions.
	Decide Action = "decide"
	// ChangeStage: move the document through its stages, set the comment
	// window, freeze the text, make the draft public.
	ChangeStage Action = "change the stage"
	// ManageTeam: invite and remove a BPF's team.
	ManageTeam Action = "manage the team"
	// CreateDocument: create BPFs and documents, import drafts.
	CreateDocument Action = "create BPFs and documents"
	// ViewAudit: read and export the audit log.
	ViewAudit Action = "view the audit log"
	// BackUp: download a copy of everything the server keeps (accounts
	// and their password hashes included).
	BackUp Action = "back up the store"
)

// Actions lists every action, in the matrix's order.
var Actions = []Action{ReadPublished, ReadDraft, EditText, EditStructure, Comment, Suggest, Moderate, ProposeDecision, Decide, ChangeStage, ManageTeam, CreateDocument, ViewAudit, BackUp}

// Context is where a document stands, as far as permissions care.
type Context struct {
	Stage editor.Stage
	// Frozen: the Secretariat froze the live text during public comment.
	Frozen bool
	// PublicDraft: the Secretariat made the live draft readable by all.
	PublicDraft bool
	// WindowOpen: the comment window is open at the server's now.
	WindowOpen bool
	// Published: a version is published (the one opened for comment, or
	// the final).
	Published bool
}

// Denied is a refusal, saying why in words a person can act on.
type Denied struct {
	Role   Role
	Action Action
	Why    string
}

func (d *Denied) Error() string { return fmt.Sprintf("%s may not %s: %s", d.Role, d.Action, d.Why) }

// Check reports whether a person of role may do action to a document in
// context c: nil, or a *Denied saying why not.
func Check(role Role, action Action, c Context) error {
	deny := func(why string) error { return &Denied{Role: role, Action: action, Why: why} }
	final := c.Stage == editor.StageFinal
	switch action {
	case ReadPublished:
		if !c.Published && !final {
			return deny("nothing is published yet")
		}
		return nil
	case ReadDraft:
		if role.team() || c.PublicDraft {
			return nil
		}
		if final {
			// The final output is read as published (and as each of its
			// corrections is published), not as it is being corrected.
			return deny("the final output is read as published")
		}
		return deny("the draft is read by its team until it is published")
	case EditText:
		switch {
		case !role.team():
			return deny("the text is written by the BPF's team")
		case final && role != Secretariat:
			// The published final stays as it was; the Secretariat may
			// correct the text and publish the correction as a version.
			return deny("the final output is read-only")
		case c.Stage == editor.StagePublicComment && c.Frozen && role != Secretariat:
			return deny("the Secretariat froze the text while it is open for comment")
		}
		return nil
	case EditStructure:
		switch {
		case !role.team():
			return deny("the structure is set by the Secretariat and the facilitators")
		case final:
			return deny("the final output is read-only")
		}
		return nil
	case Comment, Suggest:
		switch {
		case role == Anonymous:
			return deny("sign in (or register) to take part")
		case final:
			return deny("the final output is published; comments are closed")
		case role.team():
			return nil
		case c.Stage != editor.StagePublicComment || !c.WindowOpen:
			return deny("the public comment window is not open")
		}
		return nil
	case ProposeDecision:
		if role.team() && !final {
			return nil
		}
		return deny("decisions are proposed by the BPF's team")
	case Moderate, Decide, ChangeStage, ManageTeam, CreateDocument, ViewAudit, BackUp:
		if role == Secretariat {
			if action == Decide && final {
				return deny("the final output is published; decisions are closed")
			}
			return nil
		}
		return deny("only the Secretariat may")
	}
	return deny("unknown action")
}

// Row is one line of the matrix for the docs: for an action, who may do
// it in each stage.
type Row struct {
	Action Action
	// Cells has one entry per role (in Roles order): what that role may
	// do, in words ("yes", "no", "during the window", ...).
	Cells []string
}

// Matrix renders the rules for people by asking Check in every stage and
// situation, so the docs cannot say what the code does not do.
func Matrix() []Row {
	stages := []editor.Stage{editor.StageDrafting, editor.StagePublicComment, editor.StageRevision, editor.StageFinal}
	var rows []Row
	for _, a := range Actions {
		row := Row{Action: a}
		for _, r := range Roles {
			var allowed []string
			all := true
			for _, st := range stages {
				c := Context{Stage: st, WindowOpen: st == editor.StagePublicComment, Published: st != editor.StageDrafting}
				if a == ReadDraft && Check(r, a, c) != nil && Check(r, a, Context{Stage: st, Published: c.Published, PublicDraft: true}) == nil {
					allowed = append(allowed, string(st)+" (if made public)")
					all = false
					continue
				}
				if Check(r, a, c) == nil {
					note := string(st)
					if a == EditText && st == editor.StagePublicComment && Check(r, a, Context{Stage: st, Frozen: true, Published: true}) != nil {
						note += " (unless frozen)"
					}
					if (a == Comment || a == Suggest) && st == editor.StagePublicComment && Check(r, a, Context{Stage: st, Published: true}) != nil {
						note += " (while the window is open)"
					}
					allowed = append(allowed, note)
					if note != string(st) {
						all = false
					}
				} else {
					all = false
				}
			}
			switch {
			case all:
				row.Cells = append(row.Cells, "yes")
			case len(allowed) == 0:
				row.Cells = append(row.Cells, "no")
			default:
				row.Cells = append(row.Cells, joinAnd(allowed))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func joinAnd(s []string) string {
	out := ""
	for i, x := range s {
		switch {
		case i == 0:
		case i == len(s)-1:
			out += " and "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

// MarkdownTable renders Matrix as the table of docs/permissions.md.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| action |")
	for _, r := range Roles {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n|---|")
	for range Roles {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range Matrix() {
		b.WriteString("| " + string(row.Action) + " |")
		for _, c := range row.Cells {
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
