package w3c_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/w3c"
)

// rec is what a test keeps of an event (events are reused).
type rec struct {
	line   int64
	vals   []string
	f      map[event.Field]string
	get    map[string]string
	t      time.Time
	tok    bool
	source event.Source
}

var fields = []event.Field{event.FMethod, event.FStem, event.FQuery, event.FStatus, event.FClientIP, event.FUserAgent, event.FUser, event.FServerPort}

func run(t *testing.T, in io.Reader, getNames ...string) ([]rec, parse.Stats, error) {
	t.Helper()
	var out []rec
	st, err := w3c.Parse(context.Background(), in, parse.Meta{Path: "W3SVC1/u_ex210302.log", Host: "ex01", Source: event.IIS}, func(ev *event.Event) error {
		r := rec{line: ev.Loc.Line, vals: append([]string(nil), ev.Values()...), f: map[event.Field]string{}, get: map[string]string{}, source: ev.Source}
		for _, f := range fields {
			r.f[f] = ev.F(f)
		}
		for _, n := range getNames {
			r.get[n] = ev.Get(n)
		}
		r.t, r.tok = ev.Time()
		if ev.Loc.Path != "W3SVC1/u_ex210302.log" || ev.Host != "ex01" {
			t.Errorf("meta not carried: %+v %q", ev.Loc, ev.Host)
		}
		out = append(out, r)
		return nil
	})
	return out, st, err
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

const header = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-02 00:00:00\n"
const defFields = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"

func TestDefaultLayout(t *testing.T) {
	in := header + defFields +
		"2021-03-02 07:11:04 10.0.0.5 POST /ecp/DDI/DDIService.svc/SetObject schema=ResetOABVirtualDirectory&msExchEcpCanary=abc 443 - 203.0.113.9 python-requests/2.25.1 - 200 0 0 812\n" +
		"2021-03-02 07:11:05 10.0.0.5 GET /owa/auth/x.js - 443 - 203.0.113.9 Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html) - 500 0 0 15\n"
	out, st, err := run(t, strings.NewReader(in))
	if err != nil || len(out) != 2 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	r := out[0]
	want := map[event.Field]string{event.FMethod: "POST", event.FStem: "/ecp/DDI/DDIService.svc/SetObject", event.FQuery: "schema=ResetOABVirtualDirectory&msExchEcpCanary=abc", event.FStatus: "200", event.FClientIP: "203.0.113.9", event.FUserAgent: "python-requests/2.25.1", event.FUser: "-", event.FServerPort: "443"}
	for f, v := range want {
		if r.f[f] != v {
			t.Errorf("field %d = %q want %q", f, r.f[f], v)
		}
	}
	if r.line != 5 || out[1].line != 6 {
		t.Errorf("lines %d %d, want 5 6 (headers counted)", r.line, out[1].line)
	}
	if got := out[1].f[event.FUserAgent]; got != "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)" {
		t.Errorf("user agent must keep '+': %q", got)
	}
	if !r.tok || !r.t.Equal(ts("2021-03-02T07:11:04Z")) || r.t.Location() != time.UTC {
		t.Errorf("time %v %v", r.t, r.tok)
	}
	if st.Lines != 6 || st.Records != 2 || st.Malformed != 0 || !st.First.Equal(ts("2021-03-02T07:11:04Z")) || !st.Last.Equal(ts("2021-03-02T07:11:05Z")) || len(st.Problems) != 0 {
		t.Errorf("stats %+v", st)
	}
	if r.source != event.IIS || len(r.vals) != 15 {
		t.Errorf("source %v vals %d", r.source, len(r.vals))
	}
}

func TestFieldsChangeMidFile(t *testing.T) {
	in := header + defFields +
		"2021-03-02 01:00:00 10.0.0.5 GET /owa/ - 443 - 198.51.100.1 UA1 - 200 0 0 1\n" +
		"#Software: Microsoft Internet Information Services 10.0\n" +
		"#Fields: time date s-computername cs-method cs-uri-stem cs-uri-query s-port c-ip cs(User-Agent) cs(Cookie) sc-status X-Forwarded-For\n" +
		"02:00:00 2021-03-03 EX01 POST /autodiscover/autodiscover.json @evil.com/mapi/nspi 443 10.0.0.1 UA2 X-BEResource=localhost~1942062522 302 198.51.100.77\n" +
		"#Fields: date time cs-method cs-uri-stem\n" +
		"2021-03-04 03:00:00 GET /ecp/\n"
	out, st, err := run(t, strings.NewReader(in), "s-computername", "cs(Cookie)", "x-forwarded-for", "cs(Referer)")
	if err != nil || len(out) != 3 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	b := out[1]
	if b.line != 8 || b.f[event.FMethod] != "POST" || b.f[event.FStem] != "/autodiscover/autodiscover.json" || b.f[event.FStatus] != "302" ||
		b.f[event.FClientIP] != "10.0.0.1" || b.f[event.FUser] != "" || b.f[event.FUserAgent] != "UA2" {
		t.Errorf("second layout: %+v", b)
	}
	if b.get["s-computername"] != "EX01" || b.get["cs(Cookie)"] != "X-BEResource=localhost~1942062522" || b.get["x-forwarded-for"] != "198.51.100.77" || b.get["cs(Referer)"] != "" {
		t.Errorf("custom columns: %v", b.get)
	}
	if !b.t.Equal(ts("2021-03-03T02:00:00Z")) {
		t.Errorf("time with swapped date/time columns: %v", b.t)
	}
	c := out[2]
	if c.line != 10 || c.f[event.FStem] != "/ecp/" || c.f[event.FStatus] != "" || c.f[event.FUserAgent] != "" {
		t.Errorf("third layout: %+v", c)
	}
	if !st.First.Equal(ts("2021-03-02T01:00:00Z")) || !st.Last.Equal(ts("2021-03-04T03:00:00Z")) || st.Records != 3 || st.Lines != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestXForwardedForFallback(t *testing.T) {
	in := "#Fields: date time cs-method cs-uri-stem X-Forwarded-For sc-status\n2021-03-02 01:00:00 GET /owa/ 192.0.2.7 200\n"
	out, _, _ := run(t, strings.NewReader(in))
	if len(out) != 1 || out[0].f[event.FClientIP] != "192.0.2.7" {
		t.Fatalf("%+v", out)
	}
}

func TestSpellingsAndEncodings(t *testing.T) {
	row := "2021-03-02 07:11:04 10.0.0.5 GET /aspnet_client/shell.aspx cmd=whoami 443 - 203.0.113.9 curl/7.68.0 - 200 0 0 5"
	cases := []struct{ name, in string }{
		{"crlf", strings.ReplaceAll(header+defFields, "\n", "\r\n") + row + "\r\n"},
		{"bom", "\xEF\xBB\xBF" + header + defFields + row + "\n"},
		{"bom+crlf", "\xEF\xBB\xBF" + strings.ReplaceAll(header+defFields+row+"\n", "\n", "\r\n")},
		{"space spelling", header + strings.Replace(defFields, "#Fields:", "# Fields:", 1) + row + "\n"},
		{"lower case", header + strings.Replace(defFields, "#Fields:", "#fields:", 1) + row + "\n"},
		{"no final newline", header + defFields + row},
		{"blank lines", header + "\n" + defFields + row + "\n\n"},
		{"tabs", header + defFields + strings.ReplaceAll(row, " ", "\t")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, st, err := run(t, strings.NewReader(c.in))
			if err != nil || len(out) != 1 {
				t.Fatalf("err=%v n=%d", err, len(out))
			}
			r := out[0]
			if r.f[event.FStem] != "/aspnet_client/shell.aspx" || r.f[event.FQuery] != "cmd=whoami" || r.f[event.FStatus] != "200" || r.vals[14] != "5" {
				t.Errorf("fields %+v", r)
			}
			wantLine := int64(strings.Count(c.in[:strings.Index(c.in, "2021-03-02 07:11:04")+1], "\n") + 1)
			if c.name == "tabs" {
				wantLine = 5
			}
			if r.line != wantLine || !r.tok || !st.First.Equal(ts("2021-03-02T07:11:04Z")) {
				t.Errorf("line %d want %d, time %v, first %v", r.line, wantLine, r.t, st.First)
			}
		})
	}
}

func TestDataBeforeFields(t *testing.T) {
	in := "2021-03-02 07:11:04 10.0.0.5 GET /owa/auth/logon.aspx - 443 - 203.0.113.9 UA - 200 0 0 5\n"
	out, st, err := run(t, strings.NewReader(in))
	if err != nil || len(out) != 1 || out[0].f[event.FStem] != "/owa/auth/logon.aspx" || out[0].f[event.FUserAgent] != "UA" || out[0].line != 1 {
		t.Fatalf("err=%v %+v", err, out)
	}
	if st.Records != 1 || st.Lines != 1 || !st.Last.Equal(ts("2021-03-02T07:11:04Z")) {
		t.Errorf("stats %+v", st)
	}
}

func TestTimeVariants(t *testing.T) {
	cases := []struct {
		name, in string
		want     string
	}{
		{"fraction", "#Fields: date time cs-uri-stem\n2021-03-02 07:11:04.250 /x\n", "2021-03-02T07:11:04.25Z"},
		{"date-time column", "#Fields: cs-uri-stem date-time sc-status\n/x 2021-03-02T07:11:04Z 200\n", "2021-03-02T07:11:04Z"},
		{"time column far right", "#Fields: cs-uri-stem sc-status date time\n/x 200 2021-03-02 07:11:04\n", "2021-03-02T07:11:04Z"},
	}
	for _, c := range cases {
		out, st, err := run(t, strings.NewReader(c.in))
		if err != nil || len(out) != 1 || !out[0].tok || !out[0].t.Equal(ts(c.want)) || !st.First.Equal(ts(c.want)) {
			t.Errorf("%s: err=%v %+v %+v", c.name, err, out, st)
		}
	}
	// A row with an impossible date is still a record but does not touch
	// First/Last, and its Time is not ok.
	in := "#Fields: date time cs-uri-stem\n2021-02-30 07:11:04 /x\n2021-03-01 00:00:00 /y\n9999-99-99 99:99:99 /z\n"
	out, st, _ := run(t, strings.NewReader(in))
	if len(out) != 3 || out[0].tok || out[2].tok || !st.First.Equal(ts("2021-03-01T00:00:00Z")) || !st.Last.Equal(st.First) {
		t.Errorf("bad dates: %+v %+v", out, st)
	}
}

func TestPastedUserAgentWithSpaces(t *testing.T) {
	in := "# Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\n" +
		"2023-12-25 11:54:21 10.10.130.5 GET /owa/auth/aKdMadOeT.aspx cmd=whoami 443 - 1.2.3.4 Mozilla/5.0+Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/522.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/512.34 - 200 0 0 142\n"
	out, _, err := run(t, strings.NewReader(in), "time-taken", "cs(Referer)")
	if err != nil || len(out) != 1 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	r := out[0]
	if r.line != 3 || r.f[event.FStatus] != "200" || r.get["time-taken"] != "142" || r.get["cs(Referer)"] != "-" || len(r.vals) != 15 ||
		r.f[event.FUserAgent] != "Mozilla/5.0+Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/522.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/512.34" {
		t.Errorf("%+v", r)
	}
}

func TestRepeatedHeaderBlocks(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString(header + defFields)
		b.WriteString("2021-03-02 07:11:04 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 UA - 200 0 0 5\n")
	}
	out, st, err := run(t, strings.NewReader(b.String()))
	if err != nil || len(out) != 50 || st.Lines != 250 || out[49].line != 250 || out[49].f[event.FStem] != "/owa/" {
		t.Fatalf("err=%v n=%d %+v", err, len(out), st)
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a", []string{"a"}},
		{"a b  c\td ", []string{"a", "b", "c", "d"}},
		{" a+b - ", []string{"a+b", "-"}},
	}
	for _, c := range cases {
		got := w3c.Split([]byte(c.in), nil)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("Split(%q) = %q want %q", c.in, got, c.want)
		}
	}
	// dst is reused and appended to.
	dst := []string{"keep"}
	if got := w3c.Split([]byte("x y"), dst); len(got) != 3 || got[0] != "keep" {
		t.Errorf("append: %q", got)
	}
	// Values survive reuse of the raw buffer.
	raw := []byte("abc def")
	got := w3c.Split(raw, nil)
	copy(raw, "XXXXXXX")
	if got[0] != "abc" || got[1] != "def" {
		t.Errorf("values alias the raw line: %q", got)
	}
}

func TestTimeFunc(t *testing.T) {
	s := w3c.NewSchema(w3c.DefaultFields)
	if tm, ok := w3c.Time(s, []string{"2021-03-02", "07:11:04"}); !ok || !tm.Equal(ts("2021-03-02T07:11:04Z")) {
		t.Errorf("%v %v", tm, ok)
	}
	if _, ok := w3c.Time(s, []string{"2021-03-02"}); ok {
		t.Error("short row accepted")
	}
	if _, ok := w3c.Time(w3c.NewSchema([]string{"cs-uri-stem"}), []string{"/x"}); ok {
		t.Error("no time columns accepted")
	}
}

// ---- hostile input ----

func TestTruncatedRows(t *testing.T) {
	full := "2021-03-02 07:11:04 10.0.0.5 GET /owa/auth/x.js - 443 - 203.0.113.9 UA - 200 0 0 5"
	in := header + defFields + full + "\n" + full[:60] + "\n" + full[:12] + "\n" + full[:3] + "\n" + full + "\n"
	out, st, err := run(t, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// full[:60] keeps 8 of 15 values: emitted, short. full[:12] and full[:3]: skipped.
	if st.Records != 3 || st.Malformed != 2 || len(st.Problems) != 1 || out[2].line != 9 {
		t.Fatalf("%+v lines %v", st, out)
	}
	if out[1].f[event.FStatus] != "" || out[1].f[event.FStem] != "/owa/auth/x.js" {
		t.Errorf("short row: %+v", out[1])
	}
}

func TestLongLine(t *testing.T) {
	row := "2021-03-02 07:11:04 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 UA - 200 0 0 5\n"
	in := io.MultiReader(strings.NewReader(header+defFields+row), strings.NewReader("2021-03-02 07:11:05 "+strings.Repeat("A", 10<<20)+"\n"), strings.NewReader(row+row))
	out, st, err := run(t, in)
	if err != nil || len(out) != 3 || out[1].line != 7 || out[2].line != 8 || st.Malformed != 1 || st.Lines != 8 || len(st.Problems) != 1 {
		t.Fatalf("err=%v n=%d %+v", err, len(out), st)
	}
	if !st.Last.Equal(ts("2021-03-02T07:11:04Z")) {
		t.Errorf("skipped line touched Last: %v", st.Last)
	}
}

func TestBinary(t *testing.T) {
	garbage := make([]byte, 1<<16)
	rand.New(rand.NewSource(3)).Read(garbage)
	out, st, err := run(t, bytes.NewReader(garbage))
	if !errors.Is(err, parse.ErrBinary) || len(out) != 0 || st.Records != 0 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
}

func TestInvalidUTF8(t *testing.T) {
	in := header + defFields + "2021-03-02 07:11:04 10.0.0.5 GET /owa/\xff\xfe\xc3 q=\xc0\xaf 443 - 203.0.113.9 \xed\xa0\x80UA - 200 0 0 5\n"
	out, _, err := run(t, strings.NewReader(in))
	if err != nil || len(out) != 1 || out[0].f[event.FStem] != "/owa/\xff\xfe\xc3" || out[0].f[event.FStatus] != "200" {
		t.Fatalf("err=%v %+v", err, out)
	}
}

func TestEmptyAndHeaderOnly(t *testing.T) {
	for name, in := range map[string]string{"empty": "", "header only": header + defFields, "bom only": "\xEF\xBB\xBF", "blank": "\n\r\n\n"} {
		out, st, err := run(t, strings.NewReader(in))
		if err != nil || len(out) != 0 || st.Records != 0 || st.Malformed != 0 || !st.First.IsZero() {
			t.Errorf("%s: err=%v n=%d %+v", name, err, len(out), st)
		}
		if want := int64(strings.Count(in, "\n")); st.Lines != want {
			t.Errorf("%s: lines %d want %d", name, st.Lines, want)
		}
	}
}

type failReader struct {
	data []byte
	err  error
}

func (f *failReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data[:min(len(f.data), 100)])
	f.data = f.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	boom := errors.New("read failed")
	in := header + defFields + "2021-03-02 07:11:04 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 UA - 200 0 0 5\n2021-03-02 08:00:00 10.0.0.5 GET /ecp/ - 443 - 203.0.113.9 UA - 200 0 0 5\n2021-03-02 09:00"
	out, st, err := run(t, &failReader{[]byte(in), boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err=%v", err)
	}
	if len(out) != 2 || st.Records != 2 || st.Lines < 6 || !st.Last.Equal(ts("2021-03-02T08:00:00Z")) {
		t.Fatalf("stats lost: n=%d %+v", len(out), st)
	}
}

func TestContextCancel(t *testing.T) {
	row := "2021-03-02 07:11:04 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 UA - 200 0 0 5\n"
	in := strings.Repeat(row, 20000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	st, err := w3c.Parse(ctx, strings.NewReader(in), parse.Meta{}, func(*event.Event) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || st.Records >= 20000 || st.Records < 100 {
		t.Fatalf("err=%v %+v", err, st)
	}
	st, err = w3c.Parse(ctx, strings.NewReader(row), parse.Meta{}, func(*event.Event) error { return nil })
	if !errors.Is(err, context.Canceled) || st.Records != 0 {
		t.Fatalf("pre-cancelled: err=%v %+v", err, st)
	}
	// The emit error stops the file.
	stop := errors.New("stop")
	st, err = w3c.Parse(context.Background(), strings.NewReader(row+row), parse.Meta{}, func(*event.Event) error { return stop })
	if err != stop || st.Records != 1 {
		t.Fatalf("emit error: err=%v %+v", err, st)
	}
}

func TestFixtureFile(t *testing.T) {
	f, err := os.Open("testdata/u_ex210302.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, st, err := run(t, f, "s-computername")
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 5 || st.Malformed != 1 || st.Lines != 14 || !st.First.Equal(ts("2021-03-02T23:58:01Z")) || !st.Last.Equal(ts("2021-03-03T00:02:10Z")) {
		t.Errorf("stats %+v", st)
	}
	var stems []string
	for _, r := range out {
		stems = append(stems, r.f[event.FStem])
	}
	if got := strings.Join(stems, " "); got != "/owa/auth/logon.aspx /ecp/y.js /owa/auth/Current/themes/resources/shell.aspx /autodiscover/autodiscover.json /mapi/nspi/" {
		t.Errorf("stems %s", got)
	}
	if out[3].line != 13 || out[3].get["s-computername"] != "EX01" || out[3].f[event.FQuery] != "@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp" {
		t.Errorf("%+v", out[3])
	}
}
