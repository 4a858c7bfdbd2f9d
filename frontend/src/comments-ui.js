// The comments of the editing view: a panel in the side column (a list
// of threads with filters by section and status, each thread with a way
// to its words in the text) and, in each section's editor, the quoted
// words of open comments highlighted and a count at the first line of
// each paragraph commented on. The comments come from the API
// (comments.js, CommentStore), reloaded a moment after a comment event
// or a change to commented text arrives on the websocket.

import {EditorView, Decoration} from "@codemirror/view"
import {StateField, StateEffect} from "@codemirror/state"
import {CONNECTED} from "./protocol.js"
import {
  CommentStore, WHOLE, filterThreads, sortThreads, quoteMarks, paraCounts, paragraphStarts,
  statusLabel, countLabel, announcement, sectionOf,
} from "./comments.js"

// ---- the marks in the editors ----

// setMarks replaces a section's comment marks (a DecorationSet).
const setMarks = StateEffect.define()

// commentMarks holds the marks of one editor. Between two reloads they
// follow the text as it changes; a count that no longer starts a line
// (its line break deleted) is dropped until the next reload.
export const commentMarks = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    if (tr.docChanged) {
      marks = marks.map(tr.changes)
      const doc = tr.state.doc
      marks = marks.update({filter: (from, to, v) => !v.spec.commentLine || doc.lineAt(from).from === from})
    }
    for (const e of tr.effects) if (e.is(setMarks)) marks = e.value
    return marks
  },
  provide: f => EditorView.decorations.from(f),
})

// h builds an element: h("p", {class: "x"}, "text", child).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? "" : v)
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c)
  return el
}

const timeFormat = (() => {
  try { return new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"}) } catch { return null }
})()

function when(iso) {
  const d = new Date(iso)
  if (isNaN(d)) return ""
  return timeFormat ? timeFormat.format(d) : d.toISOString()
}

// shownKey is what the panel shows of a comment: when it changes, the
// panel is drawn again.
function shownKey(c) {
  const a = c.anchor || {}
  return [c.id, c.name, c.team, c.created, c.edited, c.status, c.text, c.hidden_reason, a.section, a.para ? 1 : 0, a.quote && a.quote.exact, a.state, c.suggestion, c.merged]
}

// How long after a sign of change the comments are reloaded (ms): soon
// after a comment event; after a pause in typing for a change to
// commented text (whose anchors the server moved), at least every
// textMaxWait while typing goes on.
const COMMENT_DELAY = 250
const COMMENT_MAX_WAIT = 2000
const TEXT_DELAY = 1200
const TEXT_MAX_WAIT = 5000

// CommentsUI is the comments of the editing view of app (an App of
// app.js) on session.
export class CommentsUI {
  constructor(app, session, docID, opts = {}) {
    this.app = app
    this.session = session
    this.store = opts.store || new CommentStore({url: `/api/documents/${encodeURIComponent(docID)}/comments`})
    this.filter = {section: "", status: ""}
    this.wasConnected = false
    this.connected = false
  }

  mount(side) {
    this.side = side
    side.setAttribute("aria-label", "People, connection and comments")
    this.countEl = h("span", {class: "comments-count"}, "0")
    this.sectionSel = h("select", {id: "comments-section", onchange: () => { this.filter.section = this.sectionSel.value; this.renderList() }})
    this.statusSel = h("select", {id: "comments-status", onchange: () => { this.filter.status = this.statusSel.value; this.renderList() }},
      h("option", {value: ""}, "Any"),
      h("option", {value: "open"}, "Open"),
      h("option", {value: "resolved"}, "Resolved"),
      h("option", {value: "orphaned"}, "Words no longer in the text"),
      h("option", {value: "gone"}, "Withdrawn or hidden"))
    this.live = h("p", {class: "visually-hidden", role: "status", id: "comments-live"})
    this.msg = h("p", {class: "comments-msg", id: "comments-msg"}, "Loading the comments…")
    this.list = h("ol", {class: "comments-list", id: "comments-list", "aria-labelledby": "comments-title"})
    this.panel = h("section", {class: "comments-panel", id: "comments", "aria-labelledby": "comments-title"},
      h("h2", {id: "comments-title"}, "Comments (", this.countEl, ")"),
      this.live,
      h("div", {class: "comments-filters"},
        h("div", {class: "comments-filter"}, h("label", {for: "comments-section"}, "Section"), this.sectionSel),
        h("div", {class: "comments-filter"}, h("label", {for: "comments-status"}, "Status"), this.statusSel)),
      this.msg,
      this.list)
    side.append(this.panel)
    this.renderSectionOptions()

    const s = this.session, store = this.store
    store.on("change", ({added}) => {
      this.retry = 0
      this.render()
      this.markAll()
      if (added.length) this.announce(announcement(added.length))
    })
    store.on("error", ({error}) => {
      this.msg.hidden = false
      this.msg.textContent = "The comments could not be loaded: " + error.message + ". Trying again…"
      // Again later, less and less often; any change asks sooner.
      this.retry = Math.min(60000, (this.retry || 2500) * 2)
      store.refresh(this.retry, this.retry)
    })
    // A comment made, edited, withdrawn or hidden: reload soon.
    s.on("comment", () => store.refresh(COMMENT_DELAY, COMMENT_MAX_WAIT))
    s.on("update", ({section}) => {
      if (!store.loaded) {
        if (store.error) store.refresh(TEXT_DELAY, TEXT_MAX_WAIT)
        return
      }
      // Positions of what was received and typed are mapped by the
      // editors; anchors stated at a version received only now are
      // placed now.
      this.mark(section)
      // The server moves the anchors of commented text: ask it.
      if (store.sections().has(section)) store.refresh(TEXT_DELAY, TEXT_MAX_WAIT)
    })
    s.on("document", ({snapshot}) => {
      this.renderSectionOptions()
      this.render()
      this.markAll()
      if (snapshot && this.wasConnected) store.refresh(COMMENT_DELAY, COMMENT_MAX_WAIT)
    })
    s.on("section", ({section}) => {
      this.renderSectionOptions()
      this.mark(section.id)
    })
    s.on("status", ({state}) => {
      // Back after a break: comment events may have been missed (a
      // snapshot replaces them), so reload.
      const now = state === CONNECTED
      if (now && !this.connected && this.wasConnected) store.refresh(COMMENT_DELAY, COMMENT_MAX_WAIT)
      if (now) this.wasConnected = true
      this.connected = now
    })
    store.load()
  }

  announce(text) {
    // Emptied first, so the same words are announced again.
    this.live.textContent = ""
    setTimeout(() => { this.live.textContent = text }, 50)
  }

  // ---- sections ----

  sectionIDs() { return [...this.session.sections.keys()] }

  sectionName(id) {
    const sec = this.session.section(id)
    if (!sec) return "a section removed"
    const n = this.sectionIDs().indexOf(id) + 1
    return "section " + n + ", " + (sec.title || id)
  }

  renderSectionOptions() {
    if (!this.sectionSel) return
    const current = this.sectionSel.value || this.filter.section
    const opts = [h("option", {value: ""}, "All sections")]
    this.sectionIDs().forEach((id, i) => opts.push(h("option", {value: id}, (i + 1) + ". " + (this.session.section(id).title || id))))
    opts.push(h("option", {value: WHOLE}, "The whole document"))
    this.sectionSel.replaceChildren(...opts)
    this.sectionSel.value = opts.some(o => o.value === current) ? current : ""
    this.filter.section = this.sectionSel.value
  }

  // ---- the panel ----

  render() {
    const threads = this.store.threads
    this.countEl.textContent = String(threads.length)
    this.renderList()
  }

  renderList() {
    if (!this.list) return
    const store = this.store
    if (!store.loaded) return
    const order = this.sectionIDs()
    const parasOf = id => this.session.section(id)?.paras || []
    const all = store.threads
    const shown = sortThreads(filterThreads(all, this.filter), order, parasOf)
    // The list is drawn again only when what it shows changed: anchors
    // move with every change to the text, and a redraw would lose a
    // reader's place.
    const key = JSON.stringify([this.filter, order.map(id => this.session.section(id)?.title), all.length,
      shown.map(t => [shownKey(t), (t.replies || []).map(shownKey), this.app.views.has(sectionOf(t))])])
    if (key === this.listKey) return
    this.listKey = key
    // Keep the focus on the thread it was in, across the redraw.
    const active = document.activeElement
    const focusedThread = active && this.list.contains(active) ? active.closest("li.comment-thread")?.dataset.comment : null
    const focusedRole = active && active.dataset ? active.dataset.role || "" : ""
    this.list.replaceChildren(...shown.map(t => this.threadItem(t)))
    this.list.hidden = shown.length === 0
    this.msg.hidden = false
    if (!all.length) this.msg.textContent = "No comments yet."
    else if (!shown.length) this.msg.textContent = "No comments match these filters."
    else if (shown.length < all.length) this.msg.textContent = "Showing " + shown.length + " of " + countLabel(all.length, "thread") + "."
    else this.msg.hidden = true
    if (focusedThread && !this.list.contains(document.activeElement)) {
      const li = this.list.querySelector(`li.comment-thread[data-comment="${CSS.escape(focusedThread)}"]`)
      const target = li && (li.querySelector(`[data-role="${CSS.escape(focusedRole)}"]`) || li.querySelector("button"))
      if (target) target.focus()
    }
  }

  threadItem(t) {
    const a = t.anchor || {}
    const section = sectionOf(t)
    const metaID = "cmeta-" + t.id
    let where = "On the whole document"
    if (section) {
      const kind = a.quote ? "On words in " : a.para ? "On a paragraph of " : "On "
      where = kind + this.sectionName(section)
    }
    const canGo = section && this.app.views.has(section)
    return h("li", {class: "comment-thread", id: "cthread-" + t.id, "data-comment": t.id, "data-status": t.status,
      "data-state": a.state || null, "data-section": section || null, "data-para": a.para || null},
    this.commentBody(t, metaID),
    h("p", {class: "comment-where"}, where),
    a.quote ? h("p", {class: "comment-quote"}, "On the words ", h("q", {}, a.quote.exact),
      a.state === "orphaned" ? h("span", {class: "comment-state"}, " (no longer in the text)")
        : a.state === "fuzzy" ? h("span", {class: "comment-state"}, " (the words have changed)") : null) : null,
    this.commentText(t),
    t.replies && t.replies.length ? h("ol", {class: "comment-replies", "aria-label": countLabel(t.replies.length, "reply", "replies")},
      t.replies.map(r => h("li", {class: "comment-reply", id: "cthread-" + r.id, "data-comment": r.id, "data-status": r.status},
        this.commentBody(r, "cmeta-" + r.id), this.commentText(r)))) : null,
    canGo ? h("button", {type: "button", class: "link-button comment-goto", "data-role": "goto", "aria-describedby": metaID,
      onclick: () => this.goto(t)}, t.status === "orphaned" || !a.para ? "Go to the section" : "Show in the text") : null)
  }

  commentBody(c, metaID) {
    const label = statusLabel(c.status)
    return h("p", {class: "comment-meta", id: metaID},
      h("strong", {class: "comment-name"}, c.name || "Someone"),
      c.team ? [" ", h("span", {class: "tag tag-team"}, "team")] : null,
      " · ", h("time", {datetime: c.created}, when(c.created)),
      c.edited ? " · edited" : null,
      label ? [" ", h("span", {class: "tag tag-status", "data-status": c.status}, label)] : null)
  }

  commentText(c) {
    if (c.status === "hidden") return h("p", {class: "comment-gone"}, "Hidden by the moderator" + (c.hidden_reason ? ": " + c.hidden_reason : "") + ".")
    if (c.status === "withdrawn") return h("p", {class: "comment-gone"}, "Withdrawn by its author.")
    // Plain text, kept as written (line breaks shown by the stylesheet),
    // and a suggestion's wording as a redline of the words it was made on.
    const text = h("div", {class: "comment-text"}, c.text || "")
    if (!c.redline) return text
    const parts = c.redline.map(p => p.op === "-" ? h("del", {}, p.text) : p.op === "+" ? h("ins", {}, p.text) : p.text)
    return [h("p", {class: "suggestion"}, h("strong", {}, c.merged ? "Suggested wording, merged: " : "Suggested wording: "),
      h("span", {class: "redline"}, parts)), text]
  }

  // goto puts the cursor of the thread's section on its words (or at the
  // start of its paragraph), in view, and focuses the editor.
  goto(t) {
    const a = t.anchor || {}
    const e = this.app.views.get(a.section)
    if (!e) return
    if (e.previewOn) this.app.togglePreview(a.section, false)
    const view = e.view
    let range = null
    if (t.status !== "orphaned") {
      view.state.field(commentMarks).between(0, view.state.doc.length, (from, to, v) => {
        const at = v.spec.attributes || {}
        if (at["data-comment"] === t.id || (!a.quote && v.spec.commentLine && at["data-para"] === a.para)) {
          range = {anchor: from, head: v.spec.commentLine ? from : to}
          return false
        }
      })
    }
    e.root.scrollIntoView({block: "start"})
    view.focus()
    if (range) view.dispatch({selection: range, scrollIntoView: true})
  }

  // ---- the marks ----

  markAll() {
    for (const id of this.app.views.keys()) this.mark(id)
  }

  // mark sets the marks of section id's editor from the comments.
  mark(id) {
    const e = this.app.views.get(id)
    if (!e || !this.store.loaded) return
    const view = e.view
    const marks = this.marksFor(id, view.state)
    const old = view.state.field(commentMarks, false)
    if (old === undefined) return
    if (old.size === 0 && marks.size === 0) return
    view.dispatch({effects: setMarks.of(marks)})
  }

  marksFor(id, state) {
    const s = this.session, threads = this.store.threads
    const len = state.doc.length
    const ranges = []
    for (const q of quoteMarks(threads, id)) {
      const pos = s.toLocal(id, q.version, [{pos: q.start, assoc: 1}, {pos: q.end, assoc: -1}])
      if (!pos || pos[1] <= pos[0] || pos[1] > len) continue
      ranges.push(Decoration.mark({
        class: "cm-comment-quote" + (q.fuzzy ? " cm-comment-fuzzy" : ""),
        attributes: {"data-comment": q.id, title: "Commented on by " + (q.name || "someone") + (q.fuzzy ? " (the words have changed)" : "")},
      }).range(pos[0], pos[1]))
    }
    const counts = paraCounts(threads, id)
    const server = counts.size ? s.serverText(id) : null
    if (server) {
      const starts = paragraphStarts(server.text, server.paras, counts)
      const pos = starts.length ? s.toLocal(id, server.version, starts.map(p => ({pos: p.pos, assoc: -1}))) : null
      const lines = new Set()
      if (pos) {
        starts.forEach((p, i) => {
          if (pos[i] > len) return
          const line = state.doc.lineAt(pos[i]).from
          if (lines.has(line)) return
          lines.add(line)
          ranges.push(Decoration.line({
            class: "cm-comment-para", commentLine: true,
            attributes: {"data-comments": String(p.count), "data-para": p.para},
          }).range(line))
        })
      }
    }
    return Decoration.set(ranges, true)
  }
}
