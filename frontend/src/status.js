// Completeness of a section as people type, by the same rule as the
// server's GET /api/documents/{id}/completeness: a section holding only
// whitespace and HTML comments (notes to the other writers) is empty; an
// empty required section is an error, an empty recommended or custom one
// an advisory.

// isEmptyText reports whether text holds nothing but whitespace and HTML
// comments. It takes a string or anything with iterLines() (a CodeMirror
// Text) and stops at the first real content, so a filled section costs
// little on every keystroke.
export function isEmptyText(text) {
  const lines = typeof text == "string" ? text.split("\n") : text.iterLines()
  let inComment = false
  for (let line of lines) {
    while (line.length) {
      if (inComment) {
        const end = line.indexOf("-->")
        if (end < 0) { line = ""; break }
        line = line.slice(end + 3)
        inComment = false
        continue
      }
      line = line.replace(/^\s+/, "")
      if (!line) break
      if (line.startsWith("<!--")) {
        line = line.slice(4)
        inComment = true
        continue
      }
      return false
    }
  }
  return true
}

// sectionStatus returns {status, message} for a section of kind whose
// text is (or is not) empty. status is "ok", "error" or "advisory".
export function sectionStatus(kind, empty) {
  if (!empty) return {status: "ok", message: "Has text"}
  if (kind === "required") return {status: "error", message: "Required section is empty"}
  if (kind === "recommended") return {status: "advisory", message: "Recommended section is empty"}
  return {status: "advisory", message: "Section is empty"}
}
