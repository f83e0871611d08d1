package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// hostileDoc is sampleDoc with evidence written to break out of every
// context the page has: the data island, attributes, SVG titles, CSS.
func hostileDoc() *finding.Document {
	doc := sampleDoc()
	evil := "</script><script>alert(1)</script><!-- \u2028\u2029 </SCRIPT > \" ' <img src=x onerror=alert(2)> `${x}` url(http://evil.example/x)"
	doc.Findings[0].Evidence.Excerpt = evil
	doc.Findings[0].Evidence.Fields["user_agent"] = evil
	doc.Findings[0].Title = "<svg onload=alert(3)>"
	doc.Findings[1].Evidence.Path = "D/</script>/a.log"
	doc.Errors = append(doc.Errors, finding.FileError{Path: "<b>x</b>", Message: evil})
	doc.Hosts[0].Verdict.Summary = evil
	doc.Hosts[0].Verdict.Timeline[0].Title = evil
	doc.Hosts[0].Verdict.Warnings = append(doc.Hosts[0].Verdict.Warnings, evil)
	doc.Hosts[0].Verdict.Coverage[0].Title = evil
	doc.Roots = append(doc.Roots, "http://evil.example/")
	doc.Suppressed = map[string]int{evil: 3}
	return doc
}

func renderHTML(t *testing.T, doc *finding.Document) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, doc, Options{Elapsed: "1s"}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLEscapesEvidence(t *testing.T) {
	for name, doc := range map[string]*finding.Document{"sample": sampleDoc(), "hostile": hostileDoc()} {
		t.Run(name, func(t *testing.T) {
			out := renderHTML(t, doc)
			lower := strings.ToLower(out)
			for _, bad := range []string{"<script>alert(", "<img src=x", "<svg onload", "<b>x</b>", "\x1b"} {
				if strings.Contains(lower, bad) {
					t.Errorf("raw %q from the evidence reached the page", bad)
				}
			}
			// Our two scripts and nothing else: the data island and page.js.
			if n := strings.Count(lower, "<script"); n != 2 {
				t.Errorf("%d <script elements, want 2", n)
			}
			if !strings.Contains(out, "&lt;script&gt;alert(1)") && name == "sample" {
				t.Error("the excerpt of the reason's evidence is not shown (escaped)")
			}
		})
	}
}

func TestHTMLDataIsland(t *testing.T) {
	doc := hostileDoc()
	out := renderHTML(t, doc)
	const open = `<script type="application/json" id="exhunt-data">`
	i := strings.Index(out, open)
	if i < 0 {
		t.Fatal("no data island")
	}
	rest := out[i+len(open):]
	j := strings.Index(strings.ToLower(rest), "</script")
	if j < 0 {
		t.Fatal("data island not closed")
	}
	island := rest[:j]
	// The island ends where the HTML parser says it ends: the first
	// "</script" must be its own end tag, so the JSON must hold no "<".
	for _, bad := range []string{"<", ">", "\u2028", "\u2029", "<!--"} {
		if strings.Contains(island, bad) {
			t.Errorf("data island holds a raw %q", bad)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(rest[j:]), "</script>") {
		t.Error("the island's end tag is not ours")
	}
	var data pageData
	if err := json.Unmarshal([]byte(island), &data); err != nil {
		t.Fatalf("island is not JSON: %v", err)
	}
	if len(data.Findings) != len(doc.Findings) {
		t.Fatalf("island has %d findings, want %d", len(data.Findings), len(doc.Findings))
	}
	// The hostile text survives intact as data (only shown through textContent).
	if got, want := data.Findings[0].Excerpt, doc.Findings[0].Evidence.Excerpt; got != want {
		t.Errorf("excerpt changed in the island:\n got %q\nwant %q", got, want)
	}
	if data.Findings[1].Loc != "D/</script>/a.log:12" {
		t.Errorf("path = %q", data.Findings[1].Loc)
	}
	if data.Findings[0].Print != doc.Findings[0].Fingerprint() {
		t.Error("fingerprint missing")
	}
}

func TestHTMLLoadsNothing(t *testing.T) {
	out := renderHTML(t, hostileDoc())
	toks, err := htmlTokens(out)
	if err != nil {
		t.Fatal(err)
	}
	external := regexp.MustCompile(`(?i)^\s*(https?:|//|\\\\|ftp:|file:)`)
	urlAttrs := map[string]bool{"src": true, "href": true, "xlink:href": true, "action": true, "formaction": true, "poster": true, "data": true, "srcset": true, "background": true, "ping": true, "manifest": true, "cite": true}
	for _, tk := range toks {
		for k, v := range tk.attrs {
			if urlAttrs[k] && external.MatchString(v) {
				t.Errorf("<%s %s=%q> points outside the page", tk.name, k, v)
			}
			if urlAttrs[k] && strings.HasPrefix(strings.ToLower(v), "data:") && v != "data:," {
				t.Errorf("<%s %s=%q>: only the empty data: icon is expected", tk.name, k, v)
			}
			if strings.HasPrefix(k, "on") {
				t.Errorf("<%s %s>: inline event handler (blocked by the CSP, and a sign of injection)", tk.name, k)
			}
			if k == "style" && strings.Contains(strings.ToLower(v), "url(") {
				t.Errorf("<%s style=%q> loads a URL", tk.name, v)
			}
		}
		if tk.name == "style" && !tk.end {
			css := strings.ToLower(tk.raw)
			if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
				t.Error("the style sheet loads something")
			}
		}
		if tk.name == "script" && !tk.end && tk.attrs["type"] != "application/json" {
			js := tk.raw
			for _, api := range []string{"fetch(", "XMLHttpRequest", "WebSocket", "import(", "sendBeacon", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if strings.Contains(js, api) {
					t.Errorf("page.js uses %s", api)
				}
			}
		}
		if tk.name == "link" && tk.attrs["rel"] != "icon" {
			t.Errorf("unexpected <link rel=%q>", tk.attrs["rel"])
		}
	}
}

func TestHTMLStructure(t *testing.T) {
	for name, doc := range map[string]*finding.Document{"sample": sampleDoc(), "hostile": hostileDoc(), "multi": multiHostDoc(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			out := renderHTML(t, doc)
			if !strings.HasPrefix(out, "<!DOCTYPE html>\n<html lang=\"en\">") {
				t.Error("no doctype/html start")
			}
			toks, err := htmlTokens(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkNesting(toks); err != nil {
				t.Error(err)
			}
			ids := map[string]int{}
			count := map[string]int{}
			inHead := false
			for _, tk := range toks {
				if tk.name == "head" {
					inHead = !tk.end
				}
				if !tk.end && (tk.name != "title" || inHead) { // SVG has titles too
					count[tk.name]++
				}
				if id, ok := tk.attrs["id"]; ok {
					ids[id]++
				}
			}
			for _, el := range []string{"html", "head", "body", "title", "main"} {
				if count[el] != 1 {
					t.Errorf("%d <%s> elements", count[el], el)
				}
			}
			for id, n := range ids {
				if n > 1 {
					t.Errorf("id %q used %d times", id, n)
				}
			}
			for _, id := range []string{"exhunt-data", "fbody", "q", "sev", "stage", "count", "prev", "next", "pageinfo", "reset", "findings", "ftable"} {
				if ids[id] != 1 {
					t.Errorf("page.js needs id %q", id)
				}
			}
		})
	}
}

func TestHTMLScriptAllowedByCSP(t *testing.T) {
	out := renderHTML(t, sampleDoc())
	toks, err := htmlTokens(out)
	if err != nil {
		t.Fatal(err)
	}
	var csp string
	for _, tk := range toks {
		if tk.name == "meta" && tk.attrs["http-equiv"] == "Content-Security-Policy" {
			csp = tk.attrs["content"] // as the browser reads it, entities decoded
		}
	}
	m := regexp.MustCompile(`script-src '(sha256-[A-Za-z0-9+/=]+)'`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("no script hash in the CSP %q", csp)
	}
	const open = "<script>"
	i := strings.LastIndex(out, open)
	j := strings.LastIndex(out, "</script>")
	if i < 0 || j < i {
		t.Fatal("no page script")
	}
	sum := sha256.Sum256([]byte(out[i+len(open) : j]))
	if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != m[1] {
		t.Errorf("CSP allows %s but the script hashes to %s: the browser would block it", m[1], got)
	}
	// default-src 'none' covers fetch, frames, fonts and the rest.
	for _, d := range []string{"default-src 'none'", "img-src data:", "form-action 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP lacks %s", d)
		}
	}
}

func TestHTMLTLP(t *testing.T) {
	plain := renderHTML(t, sampleDoc())
	if strings.Contains(plain, `class="tlp `) || strings.Contains(plain, "TLP:") {
		t.Error("TLP marking shown although none was set")
	}
	for _, c := range []struct{ tlp, label, class string }{
		{"amber+strict", "TLP:AMBER&#43;STRICT", "tlp-amber-strict"},
		{"red", "TLP:RED", "tlp-red"},
		{"TLP:GREEN", "TLP:GREEN", "tlp-green"},
		{"clear", "TLP:CLEAR", "tlp-clear"},
		{"bogus", "TLP:BOGUS", "tlp-red"},
	} {
		doc := sampleDoc()
		doc.TLP = c.tlp
		out := renderHTML(t, doc)
		banner := `<div class="tlp ` + c.class + `" role="note"><strong>` + c.label + `</strong>`
		if n := strings.Count(out, banner); n != 2 {
			t.Errorf("%s: banner shown %d times, want top and bottom:\n%s", c.tlp, n, banner)
			continue
		}
		body := strings.Index(out, "<body>")
		first := strings.Index(out, banner)
		last := strings.LastIndex(out, banner)
		if first < body || strings.Contains(out[body:first], "<section") {
			t.Errorf("%s: top banner is not the first thing in the body", c.tlp)
		}
		if strings.Contains(out[last:], "<section") || !strings.Contains(out[:last], "</main>") {
			t.Errorf("%s: bottom banner is not after the content", c.tlp)
		}
		if !strings.Contains(out, "<title>"+c.label) {
			t.Errorf("%s: the title does not carry the marking", c.tlp)
		}
		if !strings.Contains(out, "@top-center") {
			t.Errorf("%s: printed pages are not marked", c.tlp)
		}
	}
}

// multiHostDoc has a second host that was never assessed (nil verdict).
func multiHostDoc() *finding.Document {
	doc := sampleDoc()
	doc.Hosts = append(doc.Hosts, finding.HostSummary{Host: "ex02", WorstStage: finding.StageRecon, WorstSeverity: finding.Low, Findings: 1,
		Stages: map[finding.Stage]int{finding.StageRecon: 1}, Severities: map[finding.Severity]int{finding.Low: 1},
		Builds: []finding.BuildSighting{{Build: "15.2.986", Source: "iis-owa-path", Count: 2}}})
	f := doc.Findings[0]
	f.Host = "ex02"
	doc.Findings = append(doc.Findings, f)
	doc.Inventory = append(doc.Inventory, finding.Inventory{Host: "ex02", Family: "iis", Title: "IIS W3C logs", Files: 1, Bytes: 10})
	return doc
}

func TestHTMLHostWithoutVerdict(t *testing.T) {
	doc := multiHostDoc()
	out := renderHTML(t, doc)
	for _, want := range []string{
		`<a href="#host-1">ex01</a>`, `<a href="#host-2">ex02</a>`, // overview of both hosts
		`<section class="host" id="host-2">`,
		`<div class="verdict state-scanned">`,
		"Scanning and exploitation attempts, none shown to get past reconnaissance.", // the old headline
		"Not assessed",
		"<code>15.2.986</code>", // builds shown without an exposure block
		"IIS W3C logs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A document with no host at all still renders.
	if out := renderHTML(t, &finding.Document{}); !strings.Contains(out, "No Exchange or IIS log was found") {
		t.Error("empty document: no explanation")
	}
}

func TestHTMLManyFindings(t *testing.T) {
	doc := sampleDoc()
	base := doc.Findings[1]
	for i := range 5000 {
		f := base
		f.Evidence.Line = int64(100 + i)
		f.Time = base.Time.Add(time.Duration(i) * time.Second)
		doc.Findings = append(doc.Findings, f)
	}
	out := renderHTML(t, doc)
	// The rows are data, not markup: the page grows by the JSON only.
	if n := strings.Count(out, "<tr"); n > 100 {
		t.Errorf("%d table rows in the markup; findings should be rendered by page.js a page at a time", n)
	}
	if perRow := len(out) / len(doc.Findings); perRow > 1000 {
		t.Errorf("%d bytes per finding", perRow)
	}
}

func TestSplitAxis(t *testing.T) {
	t0 := time.Date(2021, 2, 27, 19, 52, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	cases := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"one", []time.Time{t0}, 1},
		{"minutes", []time.Time{t0, at(time.Minute), at(3 * time.Minute)}, 1},
		{"daily scans", []time.Time{t0, at(24 * time.Hour), at(48 * time.Hour), at(72 * time.Hour)}, 1},
		{"chain then shell years later", []time.Time{t0, at(time.Minute), at(2 * 365 * 24 * time.Hour)}, 2},
		{"three eras", []time.Time{t0, at(time.Minute), at(200 * 24 * time.Hour), at(700 * 24 * time.Hour)}, 3},
	}
	for _, c := range cases {
		got := splitAxis(c.times)
		if len(got) != c.want {
			t.Errorf("%s: %d pieces, want %d", c.name, len(got), c.want)
		}
	}
	// Years apart: the timeline draws a break that says how long it skips.
	v := buildTimeline([]finding.TimelineEntry{
		{Time: t0, Step: "ssrf", Title: "SSRF", Stage: finding.StageExploit},
		{Time: at(time.Minute), Step: "shell-written", Title: "shell", Stage: finding.StageWrite},
		{Time: at(2 * 365 * 24 * time.Hour), Step: "shell-used", Title: "used", Stage: finding.StageExecution},
	})
	if len(v.Breaks) != 1 || v.Breaks[0].Label != "+2 y" {
		t.Errorf("breaks = %+v", v.Breaks)
	}
	// Within the first piece the minute apart is visible, not squashed.
	if dx := v.Rows[1].X - v.Rows[0].X; dx < 100 {
		t.Errorf("a minute apart is %.1f px apart", dx)
	}
}

// ---- a small tokenizer, enough to check our own output ----

type htmlToken struct {
	name  string
	end   bool // </name>
	self  bool // <name/>
	attrs map[string]string
	raw   string // the text of <script> and <style>
}

func htmlTokens(s string) ([]htmlToken, error) {
	var out []htmlToken
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		switch {
		case strings.HasPrefix(s[i:], "<!--"):
			e := strings.Index(s[i:], "-->")
			if e < 0 {
				return nil, fmt.Errorf("unclosed comment at %d", i)
			}
			i += e + 3
			continue
		case strings.HasPrefix(s[i:], "<!"):
			e := strings.IndexByte(s[i:], '>')
			if e < 0 {
				return nil, fmt.Errorf("unclosed declaration at %d", i)
			}
			i += e + 1
			continue
		}
		tk := htmlToken{attrs: map[string]string{}}
		i++
		if i < len(s) && s[i] == '/' {
			tk.end = true
			i++
		}
		j := i
		for j < len(s) && !strings.ContainsRune(" \t\n/>", rune(s[j])) {
			j++
		}
		tk.name = strings.ToLower(s[i:j])
		if tk.name == "" {
			return nil, fmt.Errorf("bare '<' at %d: text not escaped", i-1)
		}
		i = j
		for {
			for i < len(s) && strings.ContainsRune(" \t\n", rune(s[i])) {
				i++
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unclosed tag <%s", tk.name)
			}
			if s[i] == '>' {
				i++
				break
			}
			if strings.HasPrefix(s[i:], "/>") {
				tk.self = true
				i += 2
				break
			}
			j = i
			for j < len(s) && !strings.ContainsRune(" \t\n=/>", rune(s[j])) {
				j++
			}
			name := strings.ToLower(s[i:j])
			if name == "" {
				return nil, fmt.Errorf("bad attribute in <%s at %d", tk.name, i)
			}
			if _, dup := tk.attrs[name]; dup {
				return nil, fmt.Errorf("duplicate attribute %s in <%s", name, tk.name)
			}
			i = j
			val := ""
			if i < len(s) && s[i] == '=' {
				i++
				if i < len(s) && (s[i] == '"' || s[i] == '\'') {
					q := s[i]
					e := strings.IndexByte(s[i+1:], q)
					if e < 0 {
						return nil, fmt.Errorf("unclosed attribute %s", name)
					}
					val = s[i+1 : i+1+e]
					i += e + 2
				} else {
					j = i
					for j < len(s) && !strings.ContainsRune(" \t\n>", rune(s[j])) {
						j++
					}
					val = s[i:j]
					i = j
				}
			}
			tk.attrs[name] = htmlUnescape(val)
		}
		if !tk.end && (tk.name == "script" || tk.name == "style") {
			e := strings.Index(strings.ToLower(s[i:]), "</"+tk.name)
			if e < 0 {
				return nil, fmt.Errorf("unclosed <%s>", tk.name)
			}
			tk.raw = s[i : i+e]
			i += e
		}
		out = append(out, tk)
	}
	return out, nil
}

// htmlUnescape undoes what html/template writes into attribute values, so
// that "&#34;http:" cannot hide a URL from the checks.
func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#43;", "+", "&#47;", "/", "&#x2f;", "/", "&#58;", ":", "&colon;", ":").Replace(s)
}

var voidElements = map[string]bool{"meta": true, "link": true, "br": true, "input": true, "hr": true, "img": true, "wbr": true, "col": true, "source": true, "area": true, "base": true, "embed": true, "track": true}

// checkNesting wants every element closed explicitly and in order: the
// template writes no implied end tags.
func checkNesting(toks []htmlToken) error {
	var stack []string
	for _, tk := range toks {
		switch {
		case tk.end:
			if len(stack) == 0 || stack[len(stack)-1] != tk.name {
				return fmt.Errorf("</%s> closes %v", tk.name, stack)
			}
			stack = stack[:len(stack)-1]
		case tk.self || voidElements[tk.name]:
		default:
			stack = append(stack, tk.name)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed elements %v", stack)
	}
	return nil
}
