package editor

// Update is one change to a collaborative text as @codemirror/collab
// exchanges it: the changes and the id of the client that made them.
// Effects are not carried.
type Update struct {
	Changes  ChangeSet `json:"changes"`
	ClientID string    `json:"clientID"`
}

// RebaseUpdates rewrites updates, made on top of some version of a text,
// to apply after over, the updates accepted since that version; exactly
// @codemirror/collab's rebaseUpdates. The leading updates that appear in
// over from the same client, in order, were already accepted: they are
// dropped rather than applied twice, and the rest are mapped over the
// others. The input is not modified.
//
// Like Map it panics when lengths do not line up, so a server checks a
// push first: the first update's LenBefore must be the text's length at the
// pushed version and each next one must start where the previous ended.
// After rebasing, Text.Apply (or CheckAgainst) still vets each result.
func RebaseUpdates(updates, over []Update) []Update {
	if len(over) == 0 || len(updates) == 0 {
		return updates
	}
	// changes is the composition of the foreign updates in over, mapped
	// past the client's own. CodeMirror holds it either as the ChangeSet of
	// one update or as a ChangeDesc, and the two skip work on empty sets in
	// different cases, which shows in the section layout: desc tracks which
	// one it would be. Its text is never used, so none is built.
	var changes ChangeSet
	have, desc := false, false
	skip := 0
	for _, u := range over {
		if skip < len(updates) && updates[skip].ClientID == u.ClientID {
			if have {
				changes = mapDesc(changes, desc, updates[skip].Changes)
			}
			skip++
			continue
		}
		switch {
		case !have:
			changes, have, desc = u.Changes, true, false
		case changes.Empty():
			changes, desc = u.Changes, false
		case u.Changes.Empty():
		default:
			changes, desc = composeSets(changes, u.Changes, false), true
		}
	}
	updates = updates[skip:]
	if !have {
		return append([]Update(nil), updates...)
	}
	out := make([]Update, len(updates))
	for i, u := range updates {
		out[i] = Update{Changes: u.Changes.Map(changes, false), ClientID: u.ClientID}
		changes = mapDesc(changes, desc, u.Changes)
	}
	return out
}

// mapDesc is CodeMirror's mapDesc(other, true) on a ChangeSet (desc false)
// or a ChangeDesc (desc true); only the latter returns itself unchanged
// when other is empty.
func mapDesc(c ChangeSet, desc bool, other ChangeSet) ChangeSet {
	if desc && other.Empty() {
		return c
	}
	return mapSet(c, other, true, false)
}
