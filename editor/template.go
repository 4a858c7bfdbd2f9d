package editor

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Template is the outline a document starts from: its sections in order,
// with guidance for the writers, and the rules the completeness check
// applies on top of "required sections have text".
//
// Templates are data: one JSON file each under editor/templates, embedded in
// the binary and validated when first used. The values returned by
// Templates and LookupTemplate are shared and must not be modified.
type Template struct {
	// Name is the stable identifier stored in Document.Template.
	Name string `json:"name"`
	// Title is the name shown to people ("BPF output document").
	Title string `json:"title"`
	// Description says in a sentence or two what the template is for.
	Description string            `json:"description"`
	Sections    []TemplateSection `json:"sections"`
	Rules       []Rule            `json:"rules,omitempty"`
}

// TemplateSection is one section of a template.
type TemplateSection struct {
	// Key becomes the section's id in every document made from the
	// template, so it never changes once documents exist.
	Key   string      `json:"key"`
	Title string      `json:"title"`
	Kind  SectionKind `json:"kind"`
	// Guidance tells the writers what belongs in the section.
	Guidance string `json:"guidance"`
	// Prompt is the starter prompt shown in the section's empty editor, as
	// a placeholder: guidance, never text of the document.
	Prompt string `json:"prompt,omitempty"`
	// Aliases are other common headings for this section ("Lessons
	// learned" for "Insights gained ..."), used by ImportMarkdown.
	Aliases []string `json:"aliases,omitempty"`
}

// Rule is a check beyond emptiness, declared in template data and
// implemented in Go (see Check). The only kind so far is RuleFacilitators.
type Rule struct {
	Kind RuleKind `json:"kind"`
	// Section is the key of the section the rule reads and reports on.
	Section string `json:"section"`
	// Min is the least number of entries (facilitators) required.
	Min int `json:"min,omitempty"`
	// MinMAG is the least number of those entries marked as MAG members.
	MinMAG int `json:"min_mag,omitempty"`
}

// RuleKind names the Go check behind a Rule.
type RuleKind string

// RuleFacilitators counts the facilitators listed in a section and those
// of them who are MAG members; see ParseFacilitators for the format.
const RuleFacilitators RuleKind = "facilitators"

//go:embed templates/*.json
var templateFiles embed.FS

var builtinTemplates = sync.OnceValues(func() ([]*Template, error) {
	return loadTemplates(templateFiles, "templates")
})

// Templates returns the built-in templates sorted by name. The embedded
// template files are part of the program; if one is broken Templates
// panics, and TestTemplatesLoad fails before such a build ships.
func Templates() []*Template {
	ts, err := builtinTemplates()
	if err != nil {
		panic(err)
	}
	return slices.Clone(ts)
}

// LookupTemplate returns the built-in template with the given name. An
// unknown name gives an error wrapping ErrUnknownTemplate that lists the
// known names.
func LookupTemplate(name string) (*Template, error) {
	ts := Templates()
	names := make([]string, len(ts))
	for i, t := range ts {
		if t.Name == name {
			return t, nil
		}
		names[i] = t.Name
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownTemplate, name, strings.Join(names, ", "))
}

// Section returns the template section with the given key, or nil.
func (t *Template) Section(key string) *TemplateSection {
	for i := range t.Sections {
		if t.Sections[i].Key == key {
			return &t.Sections[i]
		}
	}
	return nil
}

// NewDocument makes a document from the template: its sections in template
// order, with the template's keys as ids, its kinds, guidance and prompts,
// and no text. The document's Created and Updated are
// now; the caller validates id and title.
func (t *Template) NewDocument(id, title string, now time.Time) *Document {
	d := &Document{
		ID:       id,
		Template: t.Name,
		Title:    title,
		Created:  now,
		Updated:  now,
	}
	for _, ts := range t.Sections {
		d.Sections = append(d.Sections, ts.newSection())
	}
	d.AssignParagraphIDs()
	return d
}

func (ts *TemplateSection) newSection() Section {
	return Section{
		ID:       ts.Key,
		Title:    ts.Title,
		Kind:     ts.Kind,
		Guidance: ts.Guidance,
		Prompt:   ts.Prompt,
	}
}

// templateKey keeps keys usable in URLs and distinct from custom-N ids.
var templateKey = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// loadTemplates reads and validates every *.json file in dir of fsys. Each
// file holds one template whose name is the file's base name.
func loadTemplates(fsys fs.FS, dir string) ([]*Template, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no template files in %s", ErrInvalid, dir)
	}
	var out []*Template
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		t, err := parseTemplate(data)
		if err != nil {
			return nil, fmt.Errorf("template file %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); t.Name != want {
			return nil, fmt.Errorf("template file %s: %w: name %q; want %q (the file name)", name, ErrInvalid, t.Name, want)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Template) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// parseTemplate decodes one template strictly (unknown fields are typos)
// and validates it.
func parseTemplate(data []byte) (*Template, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t Template
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the template", ErrInvalid)
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *Template) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: template %q: %s", ErrInvalid, t.Name, fmt.Sprintf(format, args...))
	}
	if !templateKey.MatchString(t.Name) {
		return bad("name must be lower-case words joined by '-'")
	}
	if strings.TrimSpace(t.Title) == "" {
		return bad("title is required")
	}
	if len(t.Sections) == 0 {
		return bad("no sections")
	}
	seen := map[string]bool{}
	for i, s := range t.Sections {
		where := fmt.Sprintf("section %d (%q)", i+1, s.Key)
		switch {
		case !templateKey.MatchString(s.Key) || strings.HasPrefix(s.Key, "custom-"):
			return bad("%s: key must be lower-case words joined by '-', not custom-N", where)
		case seen[s.Key]:
			return bad("%s: duplicate key", where)
		case strings.TrimSpace(s.Title) == "" || strings.ContainsAny(s.Title, "\r\n"):
			return bad("%s: title must be one non-empty line", where)
		case s.Kind != Required && s.Kind != Recommended:
			return bad("%s: kind %q; want %q or %q", where, s.Kind, Required, Recommended)
		case strings.TrimSpace(s.Guidance) == "":
			return bad("%s: guidance is required", where)
		case strings.Contains(s.Prompt, "<!--"):
			return bad("%s: a prompt is plain text, shown as a placeholder, not a comment in the text", where)
		}
		for _, a := range s.Aliases {
			if len(titleTokens(a)) == 0 {
				return bad("%s: alias %q has no words to match on", where, a)
			}
		}
		seen[s.Key] = true
	}
	for i, r := range t.Rules {
		where := fmt.Sprintf("rule %d", i+1)
		switch {
		case r.Kind != RuleFacilitators:
			return bad("%s: unknown kind %q", where, r.Kind)
		case !seen[r.Section]:
			return bad("%s: section %q is not in the template", where, r.Section)
		case r.Min < 1 || r.MinMAG < 0 || r.MinMAG > r.Min:
			return bad("%s: want 1 <= min and 0 <= min_mag <= min; got min %d, min_mag %d", where, r.Min, r.MinMAG)
		}
	}
	return nil
}
