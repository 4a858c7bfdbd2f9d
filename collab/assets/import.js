// Progressive enhancement of the import page: changing where a heading
// goes updates the preview at once, as "Update the preview" would. The
// page works the same without it.
document.addEventListener("change", e => {
  const el = e.target
  if (!(el instanceof HTMLSelectElement) || !el.name.startsWith("assign-")) return
  const form = el.form
  const preview = form.querySelector('button[value="preview"]')
  if (preview) form.requestSubmit(preview)
})
