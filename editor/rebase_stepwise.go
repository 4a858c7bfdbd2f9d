package editor

// RebaseStepwise rewrites updates, made on top of some version of a text,
// to apply after over, the updates accepted since that version, the way a
// client that receives over one update at a time sees them: each of the
// client's own updates in over confirms (and drops) the next of updates;
// each foreign update moves the remaining ones over it, and is itself
// moved past them.
//
// It differs from RebaseUpdates (@codemirror/collab's rebaseUpdates), which
// maps over the composition of over: CodeMirror's Map over a composed set
// can place an insertion differently from mapping over its parts in turn,
// so a server that composes and a client that receives updates one by one
// can end with different texts. bpfdraft's clients apply every received
// update on its own (receiveUpdates with one update), and the server
// rebases with this function, so both always agree.
//
// Like Map it panics when lengths do not line up; the caller checks them.
func RebaseStepwise(updates, over []Update) []Update {
	out := append([]Update(nil), updates...)
	for _, o := range over {
		if len(out) == 0 {
			break
		}
		if o.ClientID == out[0].ClientID {
			out = out[1:]
			continue
		}
		ch := o.Changes
		for i := range out {
			mapped := out[i].Changes.Map(ch, false)
			ch = ch.Map(out[i].Changes, true)
			out[i] = Update{Changes: mapped, ClientID: out[i].ClientID}
		}
	}
	return out
}
