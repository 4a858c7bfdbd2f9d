package comments

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/editor"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello", "Hello"},
		{"  Hello\r\nworld\rand\n\tmore  \n", "Hello\nworld\nand\n\tmore"},
		{"é 漢字 👩‍💻", "é 漢字 👩‍💻"},
		{strings.Repeat("x", MaxTextRunes), strings.Repeat("x", MaxTextRunes)},
		{strings.Repeat("é", MaxTextRunes), strings.Repeat("é", MaxTextRunes)}, // characters, not bytes
	} {
		got, err := CheckText(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CheckText(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, in, msg string }{
		{"empty", "", "empty"},
		{"blank", " \n\t\r\n ", "empty"},
		{"too long", strings.Repeat("x", MaxTextRunes+1), "at most 5000"},
		{"NUL", "a\x00b", "U+0000"},
		{"escape", "a\x1b[31mb", "U+001B"},
		{"DEL", "a\x7fb", "U+007F"},
		{"C1 control", "a\u0085b", "U+0085"},
		{"vertical tab", "a\vb", "U+000B"},
		{"form feed", "a\fb", "U+000C"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckText(tc.in)
			if !errors.Is(err, editor.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %q, %v; want an invalid error saying %q", got, err, tc.msg)
			}
		})
	}
}

func validComment() Comment {
	return Comment{
		ID: "c1", Doc: "doc", Author: "acct-1", Name: "Ana Pérez", Text: "A comment.",
		Created: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		Anchor:  &Anchor{Section: "custom-1", State: Anchored},
	}
}

func TestCommentValidate(t *testing.T) {
	ok := validComment()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	reply := validComment()
	reply.ID, reply.Parent, reply.Team, reply.Anchor = "c2", "c1", true, nil
	if err := reply.Validate(); err != nil {
		t.Fatal(err)
	}
	hidden := validComment()
	hidden.Hidden, hidden.HiddenReason = true, "off topic"
	if err := hidden.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(c *Comment)
		msg    string
	}{
		{"no id", func(c *Comment) { c.ID = "" }, "no id"},
		{"no document", func(c *Comment) { c.Doc = "" }, "no document"},
		{"no author", func(c *Comment) { c.Author = "" }, "no author"},
		{"own parent", func(c *Comment) { c.Parent = c.ID }, "own parent"},
		{"no time", func(c *Comment) { c.Created = time.Time{} }, "no creation time"},
		{"no name", func(c *Comment) { c.Name = "  " }, "name is empty"},
		{"name untrimmed", func(c *Comment) { c.Name = " Ana" }, "not trimmed"},
		{"name with a line break", func(c *Comment) { c.Name = "Ana\nB" }, "control character"},
		{"name too long", func(c *Comment) { c.Name = strings.Repeat("n", MaxNameRunes+1) }, "at most 100"},
		{"name bad UTF-8", func(c *Comment) { c.Name = "\xff" }, "UTF-8"},
		{"empty text", func(c *Comment) { c.Text = "" }, "text is empty"},
		{"text not normalised", func(c *Comment) { c.Text = "a\r\nb" }, "not normalised"},
		{"text untrimmed", func(c *Comment) { c.Text = "a " }, "not normalised"},
		{"text control", func(c *Comment) { c.Text = "a\x07" }, "control character"},
		{"bad edit", func(c *Comment) { c.Edits = []Edit{{Text: ""}} }, "edit 0"},
		{"top level without anchor", func(c *Comment) { c.Anchor = nil }, "needs an anchor"},
		{"reply with anchor", func(c *Comment) { c.Parent = "c0" }, "no anchor of its own"},
		{"team top level", func(c *Comment) { c.Team = true }, "team comment is a reply"},
		{"hidden without reason", func(c *Comment) { c.Hidden = true }, "has a reason"},
		{"reason without hidden", func(c *Comment) { c.HiddenReason = "spam" }, "has a reason"},
		{"bad anchor", func(c *Comment) { c.Anchor = &Anchor{State: "x"} }, "unknown state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validComment()
			tc.change(&c)
			err := c.Validate()
			if !errors.Is(err, editor.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want an invalid error saying %q", err, tc.msg)
			}
		})
	}
}

func TestCommentEdit(t *testing.T) {
	c := validComment()
	t1 := c.Created.Add(time.Hour)
	if err := c.Edit(" Better.\r\n", t1); err != nil {
		t.Fatal(err)
	}
	if c.Text != "Better." || len(c.Edits) != 1 || c.Edits[0] != (Edit{Text: "A comment.", Time: t1}) {
		t.Fatalf("after edit: %+v", c)
	}
	if err := c.Edit("Better.", t1.Add(time.Hour)); err != nil || len(c.Edits) != 1 {
		t.Fatalf("same text: %v %+v", err, c.Edits)
	}
	if err := c.Edit(" ", t1); !errors.Is(err, editor.ErrInvalid) || c.Text != "Better." {
		t.Fatalf("empty edit: %v %q", err, c.Text)
	}
	c.Withdrawn = true
	if err := c.Edit("Again", t1); !errors.Is(err, editor.ErrInvalid) {
		t.Fatalf("edit of a withdrawn comment: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRenderHTML(t *testing.T) {
	rel := `rel="nofollow ugc noopener"`
	for _, tc := range []struct{ in, want string }{
		{"Hello", "<p>Hello</p>\n"},
		{"a <b> & \"c\" 'd'", "<p>a &lt;b&gt; &amp; &#34;c&#34; &#39;d&#39;</p>\n"},
		{"one\ntwo\n\n\nthree", "<p>one<br>\ntwo</p>\n<p>three</p>\n"},
		{"see https://www.intgovforum.org/en/bpf.", `<p>see <a href="https://www.intgovforum.org/en/bpf" ` + rel + `>https://www.intgovforum.org/en/bpf</a>.</p>` + "\n"},
		{"(http://example.org/a_(b)) and HTTP://EXAMPLE.ORG/x?a=1&b=2,", `<p>(<a href="http://example.org/a_(b)" ` + rel + `>http://example.org/a_(b)</a>) and <a href="HTTP://EXAMPLE.ORG/x?a=1&amp;b=2" ` + rel + `>HTTP://EXAMPLE.ORG/x?a=1&amp;b=2</a>,</p>` + "\n"},
		{`https://x.org/"><script>alert(1)</script>`, `<p><a href="https://x.org/" ` + rel + `>https://x.org/</a>&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>` + "\n"},
		{"javascript:alert(1) ftp://x.org data:text/html,x", "<p>javascript:alert(1) ftp://x.org data:text/html,x</p>\n"},
		{"nohttps://x.org http:// https://user:pw@x.org", "<p>nohttps://x.org http:// https://user:pw@x.org</p>\n"},
		{"a\x00b\xffc", "<p>a\uFFFDb\uFFFDc</p>\n"},
		{"https://a.org https://b.org", `<p><a href="https://a.org" ` + rel + `>https://a.org</a> <a href="https://b.org" ` + rel + `>https://b.org</a></p>` + "\n"},
		{"  \n ", ""},
	} {
		if got := RenderHTML(tc.in); got != tc.want {
			t.Errorf("RenderHTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRenderHTML(f *testing.F) {
	for _, s := range []string{"https://x.org/<a>", "a\n\nb", "http://(x)", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := RenderHTML(s)
		// Nothing but our own tags: every < starts one of them.
		for rest := out; ; {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			rest = rest[i:]
			ok := false
			for _, tag := range []string{"<p>", "</p>", "<br>", `<a href="http`, "</a>"} {
				if strings.HasPrefix(strings.ToLower(rest), strings.ToLower(tag)) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("unexpected markup %q in %q", rest[:min(len(rest), 20)], out)
			}
			rest = rest[1:]
		}
	})
}
