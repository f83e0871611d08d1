package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

func collect(t *testing.T, ports []int, inputs ...Input) ([]string, []BadLine) {
	t.Helper()
	var got []string
	var bad []BadLine
	err := Targets(context.Background(), inputs, ports, func(tg Target) bool {
		s := tg.HostPort()
		if tg.Scheme != "" {
			s = tg.Scheme + "://" + s
		}
		got = append(got, fmt.Sprintf("%d %s", tg.Index, s))
		return true
	}, func(b BadLine) { bad = append(bad, b) })
	if err != nil {
		t.Fatal(err)
	}
	return got, bad
}

func TestParseTargets(t *testing.T) {
	cases := []struct {
		in   string
		want string // targets joined by ", " (index stripped), or "bad: reason substring"
	}{
		{"127.0.0.1", "127.0.0.1:443"},
		{"  127.0.0.1  # comment", "127.0.0.1:443"},
		{"127.0.0.1:8443", "127.0.0.1:8443"},
		{"::1", "[::1]:443"},
		{"[::1]:8443", "[::1]:8443"},
		{"::ffff:127.0.0.1", "127.0.0.1:443"},
		{"127.0.0.0/30", "127.0.0.0:443, 127.0.0.1:443, 127.0.0.2:443, 127.0.0.3:443"},
		{"127.0.0.5/30", "127.0.0.4:443, 127.0.0.5:443, 127.0.0.6:443, 127.0.0.7:443"},
		{"127.0.0.1-127.0.0.3", "127.0.0.1:443, 127.0.0.2:443, 127.0.0.3:443"},
		{"127.0.0.254-127.0.1.1", "127.0.0.254:443, 127.0.0.255:443, 127.0.1.0:443, 127.0.1.1:443"},
		{"127.0.0.1-2", "127.0.0.1:443, 127.0.0.2:443"},
		{"::1-::2", "[::1]:443, [::2]:443"},
		{"https://127.0.0.1/owa/", "https://127.0.0.1:443"},
		{"http://127.0.0.1", "http://127.0.0.1:80"},
		{"https://[::1]:9443/x?y", "https://[::1]:9443"},
		{"mail.example.org", "mail.example.org:443"},
		{"Mail.Example.org:444", "mail.example.org:444"},
		{"https://mail.example.org:8443", "https://mail.example.org:8443"},
		{"", ""},
		{"# only a comment", ""},
		{"127.0.0.300", "bad: neither"},
		{"127.0.0.1:0", "bad: bad port"},
		{"127.0.0.1:70000", "bad: bad port"},
		{"127.0.0.1/33", "bad: CIDR"},
		{"10.0.0.0/7", "bad: split"},
		{"2001:db8::/64", "bad: split"},
		{"127.0.0.3-1", "bad: ends before"},
		{"127.0.0.1-::1", "bad: mixes"},
		{"127.0.0.1-300", "bad: range end"},
		{"ftp://127.0.0.1", "bad: scheme"},
		{"https://user:pw@127.0.0.1", "bad: credentials"},
		{"127.0.0.1 127.0.0.2", "bad: one target"},
		{"-foo.example", "bad: neither"},
		{"192.0.2.1-5:443", "bad: neither"},
		{"fe80::1%eth0", "bad: zoned"},
	}
	for _, c := range cases {
		got, bad := collect(t, nil, Input{Name: "t", Reader: strings.NewReader(c.in)})
		if strings.HasPrefix(c.want, "bad: ") {
			if len(bad) != 1 || !strings.Contains(bad[0].Reason, strings.TrimPrefix(c.want, "bad: ")) || len(got) != 0 {
				t.Errorf("%q: got %v, bad %v; want %s", c.in, got, bad, c.want)
			} else if bad[0].Line != 1 || bad[0].Source != "t" {
				t.Errorf("%q: bad line reported at %s:%d", c.in, bad[0].Source, bad[0].Line)
			}
			continue
		}
		for i := range got {
			got[i] = got[i][strings.IndexByte(got[i], ' ')+1:]
		}
		if strings.Join(got, ", ") != c.want || len(bad) != 0 {
			t.Errorf("%q: got %q, bad %v; want %q", c.in, strings.Join(got, ", "), bad, c.want)
		}
	}
}

func TestTargetsPortsIndexesAndDedupe(t *testing.T) {
	in := "127.0.0.1\n\nbogus!\n127.0.0.1\n127.0.0.2:8443\n"
	got, bad := collect(t, []int{443, 80},
		Input{Name: "arg", Args: []string{"127.0.0.9"}},
		Input{Name: "list.txt", Reader: strings.NewReader(in)})
	want := []string{"0 127.0.0.9:443", "1 127.0.0.9:80", "2 127.0.0.1:443", "3 127.0.0.1:80", "4 127.0.0.2:8443"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if len(bad) != 1 || bad[0].Line != 3 || bad[0].Source != "list.txt" {
		t.Errorf("bad %+v", bad)
	}
}

// TestTargetsStream feeds a huge input through a pipe and stops early:
// the reader must hand targets out as they come, not read everything
// first, and a /8 must not be materialised.
func TestTargetsStream(t *testing.T) {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		for i := 0; i < 1_000_000; i++ {
			fmt.Fprintf(w, "127.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
		}
		w.Flush()
		pw.Close()
	}()
	n := 0
	err := Targets(context.Background(), []Input{{Name: "-", Reader: pr}, {Name: "arg", Args: []string{"127.0.0.0/8"}}}, nil, func(Target) bool {
		n++
		return n < 1000
	}, func(BadLine) {})
	pr.Close()
	if err != nil || n != 1000 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	n = 0
	Targets(context.Background(), []Input{{Name: "arg", Args: []string{"127.0.0.0/8"}}}, nil, func(Target) bool {
		n++
		return n < 5
	}, func(BadLine) {})
	if n != 5 {
		t.Fatalf("CIDR: %d", n)
	}
}

func TestDedupeWindowBounded(t *testing.T) {
	w := newWindow(4)
	for i := 0; i < 10; i++ {
		w.add(dedupeKey{port: i})
	}
	if len(w.set) != 4 || len(w.ring) != 4 {
		t.Fatalf("window grew: %d %d", len(w.set), len(w.ring))
	}
	if !w.add(dedupeKey{port: 9}) || w.add(dedupeKey{port: 0}) {
		t.Error("window forgot a recent key or kept an old one")
	}
}

func FuzzTargets(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.0.0.0/24", "127.0.0.1-9", "[::1]:443", "https://h.example:1/x", "a.b-c.d", "::1-::ff", "1.2.3.4-1.2.3.3", "http://[::1", "#x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		err := Targets(context.Background(), []Input{{Name: "fuzz", Reader: strings.NewReader(s)}}, []int{443}, func(tg Target) bool {
			if !tg.Addr.IsValid() && tg.Host == "" {
				t.Fatalf("%q: target without address or name", s)
			}
			if tg.Port < 1 || tg.Port > 65535 {
				t.Fatalf("%q: port %d", s, tg.Port)
			}
			n++
			return n < 300
		}, func(b BadLine) {
			if b.Reason == "" {
				t.Fatalf("%q: bad line without a reason", s)
			}
		})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
