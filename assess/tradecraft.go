package assess

import (
	"bufio"
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// Caveat is written with every tradecraft overlap.
const Caveat = "Technical overlap is not attribution: many groups used the same public exploits after 2021-03-02."

// Actor is the only actor whose published tradecraft is compared.
const Actor = "HAFNIUM"

//go:embed hafnium.tsv
var tradecraftText string

// craft is one row of hafnium.tsv.
type craft struct {
	kind, name, source string
	value              string   // ip and user-agent rows: the value (normalised)
	ids                []string // rule rows: detector ids, any of them
	text               []string // rule rows: substrings, all of them
}

// tradecraftRows is data compiled into the binary; a malformed row is a
// programming error the package's tests catch.
var tradecraftRows = mustCraft(tradecraftText)

func mustCraft(text string) []craft {
	rows, err := loadCraft(text)
	if err != nil {
		panic(err)
	}
	return rows
}

func loadCraft(text string) ([]craft, error) {
	var out []craft
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "kind\t") {
			continue
		}
		c := strings.Split(t, "\t")
		if len(c) != 4 || c[0] == "" || c[1] == "" || c[2] == "" || c[3] == "" {
			return nil, fmt.Errorf("hafnium.tsv:%d: want kind, name, item, source", n)
		}
		r := craft{kind: c[0], name: c[1], source: c[3]}
		switch c[0] {
		case "ip", "user-agent":
			r.value = normUA(c[2])
		case "webshell-family", "tool", "staging", "post-exploitation":
			for _, part := range strings.Split(c[2], " ") {
				k, v, ok := strings.Cut(part, "=")
				switch {
				case ok && k == "ids":
					r.ids = strings.Split(v, ",")
				case ok && k == "text":
					r.text = strings.Split(strings.ToLower(v), ",")
				default:
					return nil, fmt.Errorf("hafnium.tsv:%d: bad rule %q", n, part)
				}
			}
		default:
			return nil, fmt.Errorf("hafnium.tsv:%d: unknown kind %q", n, c[0])
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// kindWeight is what one kind of overlap adds, counted once per kind:
// an address on the IOC lists says more than a user agent anyone can set.
var kindWeight = map[string]int{"ip": 30, "user-agent": 10, "webshell-family": 15, "tool": 20, "staging": 15, "post-exploitation": 20}

// maxTradecraft caps the overlap score: overlap alone never makes an
// attribution almost certain.
const maxTradecraft = 90

// normUA compares user agents as IIS (plus for space) and HttpProxy
// (spaces) write them.
func normUA(s string) string {
	return strings.ToLower(strings.TrimSpace(strings.ReplaceAll(s, "+", " ")))
}

func tradecraft(h *host) *finding.Tradecraft {
	tc := &finding.Tradecraft{Actor: Actor, Caveat: Caveat, Matches: []finding.TradecraftMatch{}}
	idx := map[[2]string]int{}
	add := func(kind, item, source string, f *finding.Finding) {
		k := [2]string{kind, item}
		i, ok := idx[k]
		if !ok {
			i = len(tc.Matches)
			idx[k] = i
			tc.Matches = append(tc.Matches, finding.TradecraftMatch{Kind: kind, Item: item, Source: source})
		}
		m := &tc.Matches[i]
		fp := h.prints[f]
		if len(m.Findings) < maxPrints && (len(m.Findings) == 0 || m.Findings[len(m.Findings)-1] != fp) {
			m.Findings = append(m.Findings, fp)
		}
	}
	for i := range h.findings {
		f := &h.findings[i]
		var hay string
		for _, r := range tradecraftRows {
			switch r.kind {
			case "ip":
				for _, ip := range strings.Split(f.Evidence.Fields["client_ip"], ",") {
					if strings.TrimSpace(ip) == r.value {
						add(r.kind, r.value, r.source, f)
					}
				}
			case "user-agent":
				if ua := normUA(f.Evidence.Fields["user_agent"]); ua != "" && strings.HasPrefix(ua, r.value) {
					add(r.kind, clip(f.Evidence.Fields["user_agent"], 200), r.source, f)
				}
			default:
				if hay == "" {
					hay = haystack(f)
				}
				if r.matches(f, hay) {
					add(r.kind, r.name, r.source, f)
				}
			}
		}
	}
	sort.SliceStable(tc.Matches, func(i, j int) bool {
		a, b := tc.Matches[i], tc.Matches[j]
		if kindWeight[a.Kind] != kindWeight[b.Kind] {
			return kindWeight[a.Kind] > kindWeight[b.Kind]
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Item < b.Item
	})
	kinds := map[string]bool{}
	for _, m := range tc.Matches {
		if !kinds[m.Kind] {
			kinds[m.Kind] = true
			tc.Score += kindWeight[m.Kind]
		}
	}
	if tc.Score > maxTradecraft {
		tc.Score = maxTradecraft
	}
	tc.Likelihood = Band(tc.Score)
	return tc
}

func (r craft) matches(f *finding.Finding, hay string) bool {
	if len(r.ids) > 0 {
		hit := false
		for _, id := range r.ids {
			if f.ID == id {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	for _, t := range r.text {
		if !strings.Contains(hay, t) {
			return false
		}
	}
	return len(r.ids) > 0 || len(r.text) > 0
}

// haystack is what text rules look in: the path, the excerpt and the
// matched fields, lower case, with backslashes kept.
func haystack(f *finding.Finding) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(f.Evidence.Path))
	b.WriteByte('\n')
	b.WriteString(strings.ToLower(f.Evidence.Excerpt))
	keys := make([]string, 0, len(f.Evidence.Fields))
	for k := range f.Evidence.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte('\n')
		b.WriteString(strings.ToLower(f.Evidence.Fields[k]))
	}
	return b.String()
}
