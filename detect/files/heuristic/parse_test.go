package heuristic

import (
	"bytes"
	"testing"
	"time"

	"github.com/exhunt/exhunt/internal/filegen"
)

func TestReadMinidump(t *testing.T) {
	d := filegen.Minidump(`C:\Windows\System32\lsass.exe`, `C:\Windows\System32\ntdll.dll`)
	md, err := readMinidump(bytes.NewReader(d), int64(len(d)))
	if err != nil || len(md.Modules) != 2 || md.Modules[0] != `C:\Windows\System32\lsass.exe` {
		t.Fatalf("%+v %v", md, err)
	}
	for _, bad := range [][]byte{d[:40], append([]byte("MDMX"), d[4:]...), nil} {
		if _, err := readMinidump(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReadWER(t *testing.T) {
	r, ok := readWER(filegen.WER("Version", "1", "EventType", "APPCRASH", "EventTime", "132590405951234567", "Sig[0].Value", "w3wp#MSExchangeECPAppPool", "Sig[1].Value", "10.0"))
	if !ok || r["EventType"] != "APPCRASH" || len(r.values(".Value")) != 2 {
		t.Fatalf("%v %v", r, ok)
	}
	if got, want := r.eventTime(), time.Date(2021, 3, 1, 2, 49, 55, 123000000, time.UTC); !got.Equal(want) {
		t.Errorf("event time %v, want %v", got, want)
	}
	if _, ok := readWER([]byte("just=text\n")); ok {
		t.Error("plain key=value text taken for a report")
	}
}

func TestSuspiciousPhysical(t *testing.T) {
	for p, want := range map[string]bool{
		`C:\ProgramData\COM1\x`:           true,
		`%ProgramData%\x`:                 true,
		`c:/users/all users/zing`:         true,
		`D:\Sites\LPT1`:                   true,
		`D:\Sites\aux.txt\x`:              true,
		`C:\inetpub\wwwroot`:              false,
		`D:\Sites\COM10`:                  false,
		`D:\Exchange Server\V15\FrontEnd`: false,
	} {
		if _, got := suspiciousPhysical(p); got != want {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
}
