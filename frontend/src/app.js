// The editing view: an outline of the sections on the left, each
// section's text in a CodeMirror editor in the middle, the people here and
// the connection on the right. The page shell comes from the Go side
// (frontend.EditorPage); <body data-doc="..."> names the document.

import {EditorView, keymap, ViewPlugin, Decoration, WidgetType, drawSelection, placeholder} from "@codemirror/view"
import {EditorState, StateEffect, Transaction} from "@codemirror/state"
import {history, historyKeymap, defaultKeymap} from "@codemirror/commands"
import {markdown} from "@codemirror/lang-markdown"
import {syntaxHighlighting, HighlightStyle} from "@codemirror/language"
import {tags} from "@lezer/highlight"
import {Session, tabKey, saveKey, CONNECTED, CONNECTING, RECONNECTING, TERMINAL} from "./protocol.js"
import {isEmptyText, sectionStatus} from "./status.js"
import {CommentsUI, commentMarks} from "./comments-ui.js"

const body = document.body
const docID = body.dataset.doc
// readOnly: the server says this person may read the draft, not edit it.
const readOnly = document.getElementById("sections")?.dataset.readOnly === "true"
const $ = id => document.getElementById(id)

// h builds an element: h("p", {class: "x"}, "text", child).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? "" : v)
  }
  for (const c of children.flat()) if (c != null) el.append(c)
  return el
}

// ---- who is typing ----

const NAME_KEY = "bpfdraft.name"

// identity says who this person is. For now a display name, asked once
// and remembered in this browser; a server that knows its users will put
// the name on <body data-user-name> and the question is skipped.
async function identity() {
  if (body.dataset.userName) return {name: body.dataset.userName, fixed: true}
  let name = ""
  try { name = localStorage.getItem(NAME_KEY) || "" } catch {}
  if (!name) name = await askName("")
  return {name, fixed: false}
}

function askName(current) {
  return new Promise(resolve => {
    const input = h("input", {id: "name-input", name: "name", type: "text", required: true, maxlength: "60",
      autocomplete: "name", value: current})
    const dialog = h("dialog", {id: "name-dialog", "aria-labelledby": "name-dialog-title"},
      h("form", {method: "dialog"},
        h("h2", {id: "name-dialog-title"}, "Your name"),
        h("p", {}, "Others in this document will see this name next to your cursor."),
        h("label", {for: "name-input"}, "Name"),
        input,
        h("div", {class: "dialog-actions"}, h("button", {type: "submit", class: "button"}, "Continue"))))
    dialog.addEventListener("cancel", e => { if (!input.value.trim()) e.preventDefault() })
    dialog.addEventListener("close", () => {
      const name = input.value.trim().slice(0, 60) || "Anonymous"
      try { localStorage.setItem(NAME_KEY, name) } catch {}
      dialog.remove()
      resolve(name)
    })
    document.body.append(dialog)
    dialog.showModal()
    input.focus()
  })
}

// ---- remote cursors ----

const refreshPeers = StateEffect.define()

class CaretWidget extends WidgetType {
  constructor(name, color, client) {
    super()
    this.name = name
    this.color = color
    this.client = client
  }
  eq(other) { return other.name === this.name && other.color === this.color && other.client === this.client }
  toDOM() {
    // Colours are set through the CSSOM: the page's CSP forbids style
    // attributes in markup, not this.
    const caret = h("span", {class: "remote-caret", "aria-hidden": "true", "data-client": this.client, "data-name": this.name})
    caret.style.borderLeftColor = this.color
    const label = h("span", {class: "remote-caret-label"}, this.name)
    label.style.backgroundColor = this.color
    caret.append(label)
    return caret
  }
  ignoreEvent() { return true }
}

function translucent(color) {
  let hex = color.slice(1)
  if (hex.length === 3) hex = [...hex].map(c => c + c).join("")
  return "#" + hex.slice(0, 6) + "40"
}

function remoteCursors(session, sectionID) {
  const build = view => {
    const marks = []
    for (const p of session.peerRanges(sectionID)) {
      for (const r of p.ranges) {
        const from = Math.min(r.anchor, r.head), to = Math.max(r.anchor, r.head)
        if (from < to) {
          marks.push(Decoration.mark({class: "remote-selection", attributes: {style: `background-color: ${translucent(p.color)}`}}).range(from, to))
        }
        marks.push(Decoration.widget({widget: new CaretWidget(p.name || "Someone", p.color, p.client), side: 1}).range(r.head))
      }
    }
    return Decoration.set(marks, true)
  }
  return ViewPlugin.fromClass(class {
    constructor(view) { this.decorations = build(view) }
    update(u) {
      if (u.docChanged || u.transactions.some(tr => tr.effects.some(e => e.is(refreshPeers)))) this.decorations = build(u.view)
    }
  }, {decorations: v => v.decorations})
}

// ---- the editor of one section ----

const highlight = HighlightStyle.define([
  {tag: tags.heading1, fontWeight: "700", fontSize: "1.3em"},
  {tag: tags.heading2, fontWeight: "700", fontSize: "1.2em"},
  {tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: "700"},
  {tag: tags.strong, fontWeight: "700"},
  {tag: tags.emphasis, fontStyle: "italic"},
  {tag: tags.strikethrough, textDecoration: "line-through"},
  {tag: [tags.link, tags.url], color: "#1d70b8", textDecoration: "underline"},
  {tag: tags.monospace, fontFamily: "ui-monospace, Menlo, Consolas, monospace", fontSize: "0.95em"},
  {tag: [tags.comment, tags.processingInstruction, tags.meta], color: "#505a5f"},
  {tag: tags.quote, color: "#383f43", fontStyle: "italic"},
  {tag: [tags.list, tags.contentSeparator], color: "#505a5f"},
])

class App {
  constructor(session, name) {
    this.session = session
    this.name = name
    this.views = new Map() // section id → {view, root, statusEl, outlineStatus, ...}
    this.blurTimer = null
    this.previewTimer = null
  }

  extensions(info) {
    const id = info.id
    return [
      history(),
      drawSelection(),
      markdown(),
      syntaxHighlighting(highlight),
      EditorView.lineWrapping,
      keymap.of([
        {key: "Mod-e", run: () => { this.togglePreview(id, true); return true }},
        ...historyKeymap,
        ...defaultKeymap,
      ]),
      EditorView.contentAttributes.of({"aria-label": "Text of section " + (info.title || id), "aria-multiline": "true"}),
      // The template's prompt shows in the empty editor only: guidance,
      // never text of the document.
      info.prompt ? placeholder(info.prompt) : [],
      remoteCursors(this.session, id),
      commentMarks,
      EditorView.updateListener.of(u => this.onEditorUpdate(id, u)),
      readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [],
    ]
  }

  onEditorUpdate(id, u) {
    const local = u.transactions.some(tr => tr.docChanged && !tr.annotation(Transaction.remote))
    if (local) this.session.changed(id)
    else if (u.selectionSet && u.view.hasFocus) this.session.changed(id, true)
    if (u.docChanged) {
      this.updateStatus(id)
      const entry = this.views.get(id)
      if (entry && entry.previewOn && !local) this.schedulePreview(id)
    }
    if (u.focusChanged) {
      if (u.view.hasFocus) {
        clearTimeout(this.blurTimer)
        this.session.setPresence(id)
        this.renderPeers()
      } else {
        // Moving to another section is not leaving; wait a moment.
        this.blurTimer = setTimeout(() => {
          if (![...this.views.values()].some(e => e.view.hasFocus)) {
            this.session.setPresence(null)
            this.renderPeers()
          }
        }, 400)
      }
    }
  }

  // ---- layout ----

  mount() {
    this.outline = $("outline-list")
    this.sectionsEl = $("sections")
    this.connEl = $("conn-state")
    this.connLabel = $("conn-label")
    this.connDetail = $("conn-detail")
    this.presenceEl = $("presence")
    this.errorEl = $("app-error")

    $("change-name").hidden = !!body.dataset.userName
    $("change-name").addEventListener("click", async () => {
      const name = await askName(this.name)
      this.name = name
      this.session.setName(name)
      this.renderPeers()
    })
    $("add-section").addEventListener("submit", e => this.addSection(e))

    const s = this.session
    s.on("document", () => this.renderDocument())
    s.on("section", ({section}) => { this.addSectionView(section, this.views.size); this.renumber() })
    s.on("status", st => this.renderStatus(st))
    s.on("peers", () => { this.refreshCursors(); this.renderPeers() })
    s.on("update", ({section}) => { if (s.peers.size) this.refreshCursors(section) })
    s.on("error", e => this.showError(e))
    s.on("lost", e => this.showLost(e))
    // The comments' panel and marks, after the views' own listeners so
    // that the views they mark exist.
    this.comments = new CommentsUI(this, s, docID)
    this.comments.mount($("side"))

    window.addEventListener("online", () => s.setOnline(true))
    window.addEventListener("offline", () => s.setOnline(false))
    window.addEventListener("beforeunload", e => {
      if (s.pending > 0) {
        e.preventDefault()
        e.returnValue = "" // older browsers need it to ask
      }
    })
    this.renderStatus({state: CONNECTING, pending: 0})
  }

  renderDocument() {
    const doc = this.session.doc
    if (doc && doc.title) {
      $("doc-title").textContent = doc.title
      document.title = doc.title + " — bpfdraft"
    }
    const ids = new Set(this.session.sections.keys())
    for (const [id, entry] of this.views) {
      if (!ids.has(id)) {
        entry.view.destroy()
        entry.root.remove()
        entry.outlineItem.remove()
        this.views.delete(id)
      }
    }
    let i = 0
    for (const section of this.session.sections.values()) {
      if (!this.views.has(section.id)) this.addSectionView(section, i)
      else this.retitle(section)
      i++
    }
    this.renumber()
    $("loading")?.remove()
  }

  addSectionView(section, index) {
    const id = section.id
    const n = index + 1
    const kindLabel = {required: "Required", recommended: "Recommended"}[section.kind] || "Custom"
    const hid = "h-" + id
    const statusEl = h("span", {class: "status", "data-status": "ok"})
    const previewBtn = h("button", {type: "button", class: "button-secondary preview-toggle", "aria-pressed": "false",
      "aria-controls": "preview-" + id, "aria-keyshortcuts": "Control+E Meta+E",
      onclick: () => this.togglePreview(id, false)}, "Preview")
    const editorEl = h("div", {class: "section-editor", "data-section": id})
    const preview = h("div", {class: "section-preview bpf-doc", id: "preview-" + id, hidden: true, tabindex: "-1",
      role: "region", "aria-label": "Preview of " + section.title})
    preview.addEventListener("keydown", e => {
      if (e.key === "Escape" || ((e.ctrlKey || e.metaKey) && e.key === "e")) {
        e.preventDefault()
        this.togglePreview(id, true)
      }
    })
    const note = h("div", {class: "section-note", hidden: true, role: "alert"})
    const guidance = section.guidance
      ? h("details", {class: "guidance"}, h("summary", {}, "Guidance"),
        h("div", {class: "guidance-text"}, section.guidance.split(/\n\s*\n/).map(p => h("p", {}, p))))
      : null
    const num = h("span", {class: "section-number"}, n + ".")
    const titleEl = h("span", {class: "section-title"}, section.title)
    const outlineTitle = h("span", {class: "outline-title"}, section.title)
    const root = h("section", {class: "doc-section", id: "sec-" + id, "aria-labelledby": hid, "data-kind": section.kind},
      h("div", {class: "section-head"},
        h("h2", {id: hid}, num, " ", titleEl),
        h("span", {class: "badge badge-" + section.kind}, kindLabel),
        statusEl,
        previewBtn),
      guidance, note, editorEl, preview)
    const outlineNum = h("span", {class: "outline-number"}, n + ".")
    const outlineStatus = h("span", {class: "status", "data-status": "ok"})
    const outlineItem = h("li", {"data-section": id},
      h("a", {href: "#sec-" + id, onclick: e => { e.preventDefault(); this.focusSection(id) }},
        outlineNum, " ", outlineTitle),
      h("span", {class: "outline-meta"}, h("span", {class: "badge badge-" + section.kind}, kindLabel), outlineStatus))

    const before = [...this.sectionsEl.querySelectorAll(":scope > .doc-section")][index] || null
    this.sectionsEl.insertBefore(root, before)
    this.outline.insertBefore(outlineItem, [...this.outline.children][index] || null)

    const view = new EditorView({state: section.state, parent: editorEl})
    this.session.attach(id, view)
    const entry = {view, root, statusEl, outlineStatus, outlineItem, num, outlineNum, title: section.title, titleEl, outlineTitle, previewBtn, preview, editorEl, note, previewOn: false, kind: section.kind, lastStatus: ""}
    this.views.set(id, entry)
    this.updateStatus(id)
  }

  // retitle shows a section's title as it now is.
  retitle(section) {
    const e = this.views.get(section.id)
    if (!e || e.title === section.title) return
    e.title = section.title
    e.titleEl.textContent = e.outlineTitle.textContent = section.title
    e.preview.setAttribute("aria-label", "Preview of " + section.title)
  }

  renumber() {
    let n = 1
    for (const id of this.session.sections.keys()) {
      const e = this.views.get(id)
      if (!e) continue
      e.num.textContent = e.outlineNum.textContent = n + "."
      this.sectionsEl.append(e.root)
      this.outline.append(e.outlineItem)
      n++
    }
  }

  focusSection(id) {
    const e = this.views.get(id)
    if (!e) return
    e.root.scrollIntoView({block: "start"})
    if (e.previewOn) e.preview.focus()
    else e.view.focus()
  }

  updateStatus(id) {
    const e = this.views.get(id)
    if (!e) return
    const {status, message} = sectionStatus(e.kind, isEmptyText(e.view.state.doc))
    if (status === e.lastStatus) return
    e.lastStatus = status
    for (const el of [e.statusEl, e.outlineStatus]) {
      el.dataset.status = status
      el.textContent = status === "ok" ? "Has text" : status === "error" ? "Empty (required)" : "Empty"
      el.title = message
    }
    e.outlineItem.dataset.status = status
  }

  // ---- preview ----

  async togglePreview(id, focus) {
    const e = this.views.get(id)
    if (!e) return
    e.previewOn = !e.previewOn
    e.previewBtn.setAttribute("aria-pressed", String(e.previewOn))
    e.previewBtn.textContent = e.previewOn ? "Edit" : "Preview"
    e.preview.hidden = !e.previewOn
    e.editorEl.hidden = e.previewOn
    if (e.previewOn) {
      if (focus) e.preview.focus()
      await this.loadPreview(id)
    } else if (focus) {
      e.view.focus()
    }
  }

  schedulePreview(id) {
    clearTimeout(this.previewTimer)
    this.previewTimer = setTimeout(() => this.loadPreview(id), 1000)
  }

  async loadPreview(id) {
    const e = this.views.get(id)
    if (!e || !e.previewOn) return
    e.preview.setAttribute("aria-busy", "true")
    try {
      const resp = await fetch(`/api/documents/${encodeURIComponent(docID)}/render`, {credentials: "same-origin", headers: {Accept: "application/json"}})
      if (!resp.ok) throw new Error("the server answered " + resp.status)
      const rendered = await resp.json()
      const sec = (rendered.sections || []).find(s => s.id === id)
      const unsaved = this.session.section(id) && this.session.pending > 0
      // The server renders without raw HTML and sanitizes the result, so
      // its html is safe to insert as it is.
      e.preview.innerHTML = sec && sec.html ? sec.html + (sec.notes_html || "") : ""
      if (!sec || !sec.html) e.preview.append(h("p", {class: "preview-empty"}, "Nothing to show yet."))
      if (unsaved) e.preview.prepend(h("p", {class: "preview-note"}, "Changes not yet saved are not in this preview."))
    } catch (err) {
      e.preview.replaceChildren(h("p", {class: "preview-note"}, "The preview could not be loaded: " + err.message))
    } finally {
      e.preview.removeAttribute("aria-busy")
    }
  }

  // ---- people and connection ----

  refreshCursors(only) {
    for (const [id, e] of this.views) if (!only || only === id) e.view.dispatch({effects: refreshPeers.of(null)})
  }

  renderPeers() {
    const s = this.session
    const titleOf = id => {
      const e = this.views.get(id)
      return e ? e.num.textContent + " " + (s.section(id)?.title || id) : ""
    }
    const me = s.presence ? s.presence.section : null
    const items = [h("li", {class: "person person-self", "data-client": s.clientID},
      h("span", {class: "swatch swatch-self", "aria-hidden": "true"}),
      h("span", {class: "person-name"}, this.name + " (you)"),
      me ? h("span", {class: "person-where"}, "in " + titleOf(me)) : null)]
    const peers = [...s.peers.values()].sort((a, b) => a.name.localeCompare(b.name))
    for (const p of peers) {
      const swatch = h("span", {class: "swatch", "aria-hidden": "true"})
      swatch.style.backgroundColor = p.color
      items.push(h("li", {class: "person", "data-client": p.client},
        swatch, h("span", {class: "person-name"}, p.name || "Someone"),
        p.section ? h("span", {class: "person-where"}, "in " + titleOf(p.section)) : null))
    }
    this.presenceEl.replaceChildren(...items)
    $("presence-count").textContent = String(peers.length + 1)
  }

  renderStatus({state, pending, error}) {
    const el = this.connEl
    el.dataset.state = state
    el.dataset.pending = String(pending)
    const label = {connected: "Connected", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline"}[state] || state
    if (this.connLabel.textContent !== label) this.connLabel.textContent = label
    let detail
    const changes = pending === 1 ? "1 unsaved change" : pending + " unsaved changes"
    if (error) detail = "Stopped: " + error.message + (pending ? " " + changes + "." : "")
    else if (state === CONNECTED) detail = pending ? "Saving " + changes + "…" : "All changes saved"
    else if (state === CONNECTING) detail = ""
    else detail = (pending ? changes : "No unsaved changes") + (state === RECONNECTING || !error ? ". You can keep writing; changes are sent when the connection is back." : "")
    this.connDetail.textContent = detail
  }

  showError(e) {
    // Errors of kind reconnect and resync are handled by reconnecting (a
    // resync offers what it could not keep through "lost"); only what
    // needs a person is shown.
    if (e.kind !== TERMINAL) return
    if (e.section) {
      const v = this.views.get(e.section)
      if (v) {
        v.note.hidden = false
        v.note.replaceChildren(h("p", {}, "Changes to this section could not be saved: " + (e.message || e.code) +
          ". Copy your recent text somewhere safe and reload the page."))
      }
      return
    }
    if (this.session.error) {
      this.errorEl.hidden = false
      this.errorEl.replaceChildren(
        h("p", {}, this.session.error.message || this.session.error.code),
        h("button", {type: "button", class: "button", onclick: () => location.reload()}, "Reload the page"))
    }
  }

  showLost({section, text}) {
    const v = this.views.get(section)
    if (!v) return
    const area = h("textarea", {readonly: true, rows: "6", id: "lost-" + section, class: "lost-text"})
    area.value = text
    v.note.hidden = false
    v.note.replaceChildren(
      h("p", {}, "Your latest changes to this section could not be merged automatically: it changed too much while you were away, " +
        "or this page's copy no longer matched the server's. The section now shows the saved text; your version is below. " +
        "Copy what you need back into the section."),
      h("label", {for: "lost-" + section}, "Your version of this section"),
      area,
      h("button", {type: "button", class: "button-secondary", onclick: () => { v.note.hidden = true; v.note.replaceChildren() }}, "Dismiss"))
  }

  async addSection(e) {
    e.preventDefault()
    const form = e.target
    const input = form.querySelector("input")
    const msg = $("add-section-msg")
    const title = input.value.trim()
    if (!title) {
      msg.textContent = "Enter a title for the new section."
      input.focus()
      return
    }
    msg.textContent = "Adding…"
    try {
      const resp = await fetch(`/api/documents/${encodeURIComponent(docID)}/sections`, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": body.dataset.csrf || ""},
        body: JSON.stringify({title}),
      })
      const data = await resp.json().catch(() => ({}))
      if (!resp.ok) throw new Error(data.error ? data.error.message : "the server answered " + resp.status)
      input.value = ""
      msg.textContent = "Section added."
    } catch (err) {
      msg.textContent = "The section could not be added: " + err.message
    }
  }
}

function wsURL() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:"
  return `${proto}//${location.host}/api/documents/${encodeURIComponent(docID)}/ws` + (readOnly ? "?mode=view" : "")
}

async function main() {
  if (!docID) return
  let storage = null, channel = null
  try { storage = sessionStorage } catch {}
  try { channel = new BroadcastChannel("bpfdraft-keys") } catch {}
  const [{name}, key] = await Promise.all([identity(), tabKey(storage, channel)])
  let app
  const session = new Session({
    url: wsURL(),
    key,
    name,
    extensions: info => app.extensions(info),
    presenceDelay: 80,
  })
  // The tab brings its own key; one the server issued (to a hello
  // without a key) would be kept for reloads the same way.
  session.on("key", ({key}) => saveKey(storage, key))
  app = new App(session, name)
  app.mount()
  app.renderPeers()
  session.setOnline(navigator.onLine !== false)
  session.start()
  // For end-to-end tests and debugging from the console.
  window.bpfdraft = {session, app}
}

main()
