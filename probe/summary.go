package probe

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// Summary counts a run per IP:port (exposure.md §5: hosts, not
// organisations; patched and mitigated kept apart; version readings and
// probe results counted separately).
type Summary struct {
	Started        time.Time                                     `json:"started"`
	Finished       time.Time                                     `json:"finished"`
	ElapsedSeconds float64                                       `json:"elapsed_seconds"`
	Interrupted    bool                                          `json:"interrupted"`
	Hosts          int64                                         `json:"hosts"`
	Answered       int64                                         `json:"answered"`
	Requests       int64                                         `json:"requests"`
	HostsPerSecond float64                                       `json:"hosts_per_second"`
	P50MS          int64                                         `json:"p50_ms"`
	P99MS          int64                                         `json:"p99_ms"`
	Status         map[string]int64                              `json:"status"`
	Exchange       map[string]int64                              `json:"exchange"`
	Precision      map[string]int64                              `json:"build_precision"`
	Families       map[exchange.Family]map[exchange.Status]int64 `json:"families"`
	Products       map[string]int64                              `json:"products"`
	CUs            map[string]int64                              `json:"cus"`
	EOL            int64                                         `json:"eol"`
	Online         int64                                         `json:"exchange_online"`
	Disagree       int64                                         `json:"sources_disagree"`
	Mitigations    map[string]map[string]int64                   `json:"mitigations"`
	Active         map[string]int64                              `json:"active,omitempty"`
	Errors         map[string]int64                              `json:"errors"`
	GaveUp         int64                                         `json:"gave_up"`
	// VulnerableHosts and PotentiallyHosts count hosts with at least one
	// family in that state (worst state wins).
	VulnerableHosts  int64     `json:"vulnerable_hosts"`
	PotentiallyHosts int64     `json:"potentially_vulnerable_hosts"`
	BadInput         int64     `json:"bad_input_lines"`
	Resumed          int64     `json:"skipped_by_resume"`
	BadLines         []BadLine `json:"bad_lines,omitempty"`

	hist           [histBuckets]int64
	nBad, nResumed atomic.Int64
}

const (
	histBuckets = 480
	histBase    = 1.05 // each bucket 5 % wider than the last: percentiles within 5 %
)

func newSummary(now time.Time) *Summary {
	s := &Summary{
		Started:     now.UTC(),
		Status:      map[string]int64{},
		Exchange:    map[string]int64{},
		Precision:   map[string]int64{},
		Families:    map[exchange.Family]map[exchange.Status]int64{},
		Products:    map[string]int64{},
		CUs:         map[string]int64{},
		Mitigations: map[string]map[string]int64{"eomt_2021": {}, "pns_mitigation": {}, "eems": {}},
		Errors:      map[string]int64{},
	}
	for _, f := range exchange.Families {
		s.Families[f] = map[exchange.Status]int64{}
	}
	return s
}

func (s *Summary) badLine()      { s.nBad.Add(1) }
func (s *Summary) resumed(int64) { s.nResumed.Add(1) }
func histBucket(ms int64) int {
	if ms <= 1 {
		return 0
	}
	b := int(math.Log(float64(ms))/math.Log(histBase)) + 1
	return min(b, histBuckets-1)
}

// add counts one result. Only the writer goroutine calls it.
func (s *Summary) add(r *Result) {
	s.Hosts++
	s.Requests += int64(r.Requests)
	s.Status[r.Status]++
	if r.Status == StatusOK {
		s.Answered++
	}
	s.Exchange[r.Exchange]++
	s.Precision[r.BuildPrecision]++
	for f, v := range r.Families {
		if s.Families[f] == nil {
			s.Families[f] = map[exchange.Status]int64{}
		}
		s.Families[f][v.Status]++
	}
	if r.Product != "" {
		s.Products[r.Product]++
		if r.CU != "" {
			s.CUs[r.Product+" "+r.CU]++
		} else if !r.Online {
			s.CUs[r.Product+" CU unknown"]++
		}
	}
	if r.EOL {
		s.EOL++
	}
	if r.Online {
		s.Online++
	}
	if r.SourcesDisagree {
		s.Disagree++
	}
	if r.Status != StatusSkipped && r.Status != StatusNotAllowed {
		s.Mitigations["eomt_2021"][r.Mitigations.EOMT2021]++
		s.Mitigations["pns_mitigation"][r.Mitigations.PNSMitigation]++
		s.Mitigations["eems"][r.Mitigations.EEMS]++
	}
	if r.Active != nil {
		if s.Active == nil {
			s.Active = map[string]int64{}
		}
		s.Active[r.Active.Result]++
	}
	for _, e := range r.Errors {
		s.Errors[e.Kind]++
	}
	if r.GaveUp != "" {
		s.GaveUp++
	}
	switch r.Worst() {
	case exchange.Vulnerable:
		s.VulnerableHosts++
	case exchange.Potentially:
		s.PotentiallyHosts++
	}
	if r.Status != StatusSkipped && r.Status != StatusNotAllowed {
		s.hist[histBucket(r.DurationMS)]++
	}
}

func (s *Summary) finish(now time.Time, elapsed time.Duration) {
	s.Finished = now.UTC()
	s.ElapsedSeconds = math.Round(elapsed.Seconds()*1000) / 1000
	if elapsed > 0 {
		s.HostsPerSecond = math.Round(float64(s.Hosts)/elapsed.Seconds()*10) / 10
	}
	s.P50MS, s.P99MS = s.percentile(0.50), s.percentile(0.99)
	s.BadInput = s.nBad.Load()
	s.Resumed = s.nResumed.Load()
}

// percentile is the upper edge of the histogram bucket holding the q-th
// host duration.
func (s *Summary) percentile(q float64) int64 {
	var n int64
	for _, c := range s.hist {
		n += c
	}
	if n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(n)))
	var acc int64
	for b, c := range s.hist {
		acc += c
		if acc >= want {
			if b == 0 {
				return 1
			}
			return int64(math.Round(math.Pow(histBase, float64(b))))
		}
	}
	return 0
}

// SummaryFormats are the formats WriteSummary takes.
var SummaryFormats = []string{"text", "json", "csv"}

// WriteSummary writes the summary as text, json or csv.
func WriteSummary(w io.Writer, s *Summary, format string) error {
	switch format {
	case "text", "":
		return writeText(w, s)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(s)
	case "csv":
		return writeCSV(w, s)
	}
	return fmt.Errorf("unknown summary format %q (want one of %s)", format, strings.Join(SummaryFormats, ", "))
}

var familyStatuses = []exchange.Status{exchange.Vulnerable, exchange.Potentially, exchange.NotVulnerable, exchange.Unknown}

func writeText(w io.Writer, s *Summary) error {
	var b strings.Builder
	head := "exhunt probe summary"
	if s.Interrupted {
		head += " (INTERRUPTED: partial)"
	}
	fmt.Fprintf(&b, "%s\n", head)
	fmt.Fprintf(&b, "  hosts        %d (answered %d, Exchange %d: yes %d, likely %d; Exchange Online %d)\n",
		s.Hosts, s.Answered, s.Exchange[ExchangeYes]+s.Exchange[ExchangeLikely], s.Exchange[ExchangeYes], s.Exchange[ExchangeLikely], s.Online)
	fmt.Fprintf(&b, "  exposed      %d vulnerable, %d potentially vulnerable (worst family per host)\n", s.VulnerableHosts, s.PotentiallyHosts)
	fmt.Fprintf(&b, "  time         %.1f s, %.1f hosts/s, %d requests; host duration p50 %d ms, p99 %d ms\n", s.ElapsedSeconds, s.HostsPerSecond, s.Requests, s.P50MS, s.P99MS)
	fmt.Fprintf(&b, "  status       %s\n", counts(s.Status))
	fmt.Fprintf(&b, "  precision    %s\n", counts(s.Precision))
	fmt.Fprintf(&b, "  families     %-14s %11s %11s %14s %8s\n", "", "vulnerable", "potentially", "not vulnerable", "unknown")
	for _, f := range exchange.Families {
		m := s.Families[f]
		fmt.Fprintf(&b, "               %-14s %11d %11d %14d %8d\n", f, m[exchange.Vulnerable], m[exchange.Potentially], m[exchange.NotVulnerable], m[exchange.Unknown])
	}
	fmt.Fprintf(&b, "  products     %s\n", counts(s.Products))
	fmt.Fprintf(&b, "  CUs          %s\n", counts(s.CUs))
	fmt.Fprintf(&b, "  EOL          %d\n", s.EOL)
	fmt.Fprintf(&b, "  disagreeing  %d hosts whose build sources disagree\n", s.Disagree)
	for _, k := range []string{"eomt_2021", "pns_mitigation", "eems"} {
		fmt.Fprintf(&b, "  %-14s %s\n", k, counts(s.Mitigations[k]))
	}
	if s.Active != nil {
		fmt.Fprintf(&b, "  x.js check   %s\n", counts(s.Active))
	}
	fmt.Fprintf(&b, "  errors       %s; %d hosts given up early\n", counts(s.Errors), s.GaveUp)
	fmt.Fprintf(&b, "  input        %d bad lines, %d skipped as done by --resume\n", s.BadInput, s.Resumed)
	for i, l := range s.BadLines {
		if i == 20 {
			fmt.Fprintf(&b, "    … %d more\n", len(s.BadLines)-20)
			break
		}
		fmt.Fprintf(&b, "    %s:%d: %s\n", l.Source, l.Line, l.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func counts[K ~string](m map[K]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Largest first, then by name, so that the text is stable.
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := string(k)
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}

func writeCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	row := func(section, key string, v int64) { _ = cw.Write([]string{section, key, strconv.FormatInt(v, 10)}) }
	_ = cw.Write([]string{"section", "key", "value"})
	row("run", "hosts", s.Hosts)
	row("run", "answered", s.Answered)
	row("run", "requests", s.Requests)
	row("run", "elapsed_ms", int64(s.ElapsedSeconds*1000))
	row("run", "hosts_per_second_x10", int64(s.HostsPerSecond*10))
	row("run", "p50_ms", s.P50MS)
	row("run", "p99_ms", s.P99MS)
	row("run", "interrupted", b2i(s.Interrupted))
	row("run", "vulnerable_hosts", s.VulnerableHosts)
	row("run", "potentially_vulnerable_hosts", s.PotentiallyHosts)
	row("run", "eol", s.EOL)
	row("run", "exchange_online", s.Online)
	row("run", "sources_disagree", s.Disagree)
	row("run", "gave_up", s.GaveUp)
	row("run", "bad_input_lines", s.BadInput)
	row("run", "skipped_by_resume", s.Resumed)
	section := func(name string, m map[string]int64) {
		for _, k := range sortedKeys(m) {
			row(name, k, m[k])
		}
	}
	section("status", s.Status)
	section("exchange", s.Exchange)
	section("build_precision", s.Precision)
	for _, f := range exchange.Families {
		for _, st := range familyStatuses {
			row("family:"+string(f), string(st), s.Families[f][st])
		}
	}
	section("product", s.Products)
	section("cu", s.CUs)
	for _, k := range []string{"eomt_2021", "pns_mitigation", "eems"} {
		section("mitigation:"+k, s.Mitigations[k])
	}
	section("active", s.Active)
	section("errors", s.Errors)
	cw.Flush()
	return cw.Error()
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
