package files

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/exhunt/exhunt/detect/yara"
)

// ExcerptWidth bounds an excerpt, in characters.
const ExcerptWidth = 240

// Excerpt returns a bounded, printable excerpt of head: around off (40
// bytes before it), or the first non-blank line when off is negative or
// beyond the head. NUL bytes are dropped (UTF-16 text reads as its ASCII),
// control characters and runs of blanks become one space, invalid UTF-8
// becomes '.'.
func Excerpt(head []byte, off int) string {
	if off < 0 || off >= len(head) {
		b := bytes.TrimLeft(head, " \t\r\n\x00\ufeff\xef\xbb\xbf\xff\xfe")
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 && i < 4*ExcerptWidth {
			b = b[:i]
		}
		return printable(b, ExcerptWidth)
	}
	start := max(0, off-40)
	end := min(len(head), off+4*ExcerptWidth)
	return printable(head[start:end], ExcerptWidth)
}

// printable renders b as at most n characters of one line.
func printable(b []byte, n int) string {
	var sb strings.Builder
	count := 0
	space := false
	for len(b) > 0 && count < n {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == 0:
			continue
		case r == utf8.RuneError && size <= 1:
			r = '.'
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == ' ' || r == '\ufeff':
			if !space && count > 0 {
				sb.WriteByte(' ')
				count++
			}
			space = true
			continue
		}
		space = false
		sb.WriteRune(r)
		count++
	}
	out := strings.TrimRight(sb.String(), " ")
	if len(b) > 0 && count >= n {
		out += "…"
	}
	return out
}

// dataBindingOnly reports whether a YARA match leans on "eval" only as
// ASP.NET's data-binding Eval: every matched string that contains "eval"
// is TemplateControl.Eval("field") inside a <%# ... %> block, or
// DataBinder.Eval(...). Generic web-shell rules that look for eval( fire
// on ordinary data-bound pages this way; such a match is demoted to low
// (shown, not counted as a shell). Matches past the head, and UTF-16
// matches, are never called data-binding.
func dataBindingOnly(ms []yara.StringMatch, head []byte) (string, bool) {
	evals := 0
	for _, m := range ms {
		lower := bytes.ToLower(m.Data)
		i := bytes.Index(lower, []byte("eval"))
		if i < 0 {
			continue
		}
		evals++
		if bytes.IndexByte(m.Data, 0) >= 0 {
			return "", false
		}
		pos := int(m.Offset) + i
		if pos < 0 || pos+4 > len(head) || !dataBindingEvalAt(head, pos) {
			return "", false
		}
	}
	if evals == 0 {
		return "", false
	}
	return `eval matched only ASP.NET data-binding Eval("…") expressions`, true
}

// dataBindingEvalAt reports whether the "eval" at pos is data-binding:
// DataBinder.Eval(, or Eval( with a quoted field name inside <%# %>.
func dataBindingEvalAt(b []byte, pos int) bool {
	if pos >= len("DataBinder.") && string(b[pos-len("DataBinder."):pos]) == "DataBinder." && string(b[pos:pos+4]) == "Eval" {
		return true
	}
	if string(b[pos:pos+4]) != "Eval" {
		return false // C# and VB data binding spell it Eval; JScript's eval is lower case
	}
	if pos > 0 && (isIdent(b[pos-1]) || b[pos-1] == '.') {
		return false
	}
	rest := bytes.TrimLeft(b[pos+4:], " \t")
	if len(rest) < 2 || rest[0] != '(' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return false
	}
	// Inside <%# ... %>: the nearest "<%" before pos opens a data-binding
	// block and no "%>" closes it before pos.
	from := max(0, pos-2048)
	open := bytes.LastIndex(b[from:pos], []byte("<%"))
	if open < 0 {
		return false
	}
	open += from
	if open+2 >= len(b) || b[open+2] != '#' {
		return false
	}
	return !bytes.Contains(b[open:pos], []byte("%>"))
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
