package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
)

// Synthetic log heads, one per family.
const (
	iisLog = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2021-03-03 00:00:01\r\n" +
		"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n" +
		"2021-03-03 00:00:01 10.0.0.5 GET /owa/auth/logon.aspx - 443 - 192.0.2.7 Mozilla/5.0 - 200 0 0 15\r\n"
	proxyLog = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2375.007\r\n#Log-type: HttpProxy Logs\r\n#Date: 2021-03-03T00:00:00.000Z\r\n" +
		"#Fields: DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox\r\n"
	ecpServerLog = "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n#Date: 2023-01-11T00:02:33.938Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"
	ecpActLog    = "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Activity Log\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"
	oabLog       = "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: OABGenerator Log\r\n#Fields: Timestamp,EventId,Message\r\n"
	rpsLog       = "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: Rps Http Logs\r\n#Fields: DateTime,StartTime,RequestId,CommandName,ClientInfo\r\n"
	rpsFieldsLog = "#Fields: DateTime,StartTime,RequestId,MajorVersion,UrlHost,UrlStem,CommandId,CommandName,SessionId,ClientInfo,CPU\r\n"
	textNote     = "just some notes\nnothing to see\n"
)

// headerlessProxyRow is a bare HttpProxy data row (no header), 65 commas.
var headerlessProxyRow = "2021-03-07T15:04:04.546Z,1a51fb75-2f6f-4a40-8129-ff80098494a0,15,0,1395,0,,Owa,host,/owa/auth/x.js,,FBA,false,,,ServerInfo~localhost/ecp/default.flt?" +
	strings.Repeat(",", 50) + "\r\n"

var garbage = string([]byte{0x00, 0x01, 0xFF, 0xFE, 0x00, 0x00, 0x13, 0x37, 0x00, 0x42})

// mk writes files below dir; keys are slash paths.
func mk(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type got struct {
	items []Item
	fails map[string]error
	order []string // fail paths in order
}

// pf lists "Path family" lines.
func (g got) pf() []string {
	var out []string
	for _, it := range g.items {
		out = append(out, it.Path+" "+it.Family.String())
	}
	return out
}

func walk(t testing.TB, roots []string, cfg Config) got {
	t.Helper()
	g := got{fails: map[string]error{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Walk(ctx, roots, cfg, func(it Item) error {
		g.items = append(g.items, it)
		return nil
	}, func(p string, err error) {
		g.fails[p] = err
		g.order = append(g.order, p)
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return g
}

func readItem(t testing.TB, it Item) (string, error) {
	t.Helper()
	rc, err := it.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\n want:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// treeHash fingerprints everything under dir: names, types, modes, sizes,
// mtimes, symlink targets and contents.
func treeHash(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "err %s %v\n", p, err)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %s\n", l)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func families(items []Item) map[event.Source]int {
	m := map[event.Source]int{}
	for _, it := range items {
		m[it.Family]++
	}
	return m
}

func isSorted(items []Item) bool {
	return sort.SliceIsSorted(items, func(i, j int) bool { return items[i].Path < items[j].Path })
}
