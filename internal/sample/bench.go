package sample

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BenchInfo describes a written benchmark tree.
type BenchInfo struct {
	Bytes int64
	Files int
	Marks []Mark // the planted hits, Path relative to the tree root
}

// ParseSize reads sizes like 1GiB, 512MiB, 500MB, 1e9.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suf string
		m   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	in, m := s, 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suf) {
			s, m = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 {
		return 0, errors.New("bad size " + strconv.Quote(in))
	}
	return int64(v * m), nil
}

// Benchmark tree layout: IIS takes about 60% of the bytes in daily files
// of at most 200 MB (front end W3SVC1 and back end W3SVC2 alternating),
// HttpProxy about 40% in 64 MB hourly files spread over the protocol
// folders, the way a busy server rotates them.
const (
	benchIISMax   = 200 << 20
	benchProxyMax = 64 << 20
)

// template is a realistic log line whose timestamps and request id are
// rewritten for every copy.
type template struct {
	data  []byte
	iisTS bool  // starts with "YYYY-MM-DD HH:MM:SS"
	isos  []int // offsets of ISO timestamps
	ids   []int // offsets of GUIDs to refresh (cafeReqId, RequestId)
}

func newTemplate(line string, iis bool) template {
	t := template{data: []byte(line), iisTS: iis}
	for i := 0; i+24 <= len(line); i++ {
		if isISO(line[i : i+24]) {
			t.isos = append(t.isos, i)
			i += 23
		}
	}
	if iis {
		if j := strings.Index(line, "cafeReqId="); j >= 0 {
			t.ids = append(t.ids, j+len("cafeReqId="))
		}
	} else if len(line) > 61 && line[24] == ',' {
		t.ids = append(t.ids, 25)
	}
	return t
}

func isISO(s string) bool {
	return s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z' && s[0] == '2'
}

// stamp appends the template with time t and fresh ids.
func (tp *template) stamp(dst []byte, t time.Time, ts []byte, iso []byte, r *rand.Rand) []byte {
	start := len(dst)
	dst = append(dst, tp.data...)
	line := dst[start:]
	if tp.iisTS {
		copy(line, ts)
	}
	for _, o := range tp.isos {
		copy(line[o:], iso)
	}
	for _, o := range tp.ids {
		g := appendGUID(line[o:o], r)
		_ = g
	}
	return dst
}

type benchPools struct {
	fe, be []template
	proxy  map[string][]template
	marks  []plant
}

type plant struct {
	tp   template
	kind string
	note string
	file string // "fe", "be", or an HttpProxy protocol
}

// benchPools builds the line pools from the sample generator itself, so
// benchmark lines have the same shape as the sample trees.
func newBenchPools() *benchPools {
	b := newBuilder("bench")
	s := newServer(20210301, "EXB01", "10.0.9.10", "15.01.2106.002", 600, "S-1-5-21-3312700126-3402356125-1211106101")
	s.b = b
	for i := 0; i < 2; i++ {
		s.normalDay(day(2021, 3, 1+i), 3000, []string{"Ews", "Mapi", "Owa", "Ecp", "Autodiscover", "Eas", "Oab"})
	}
	s.chain(day(2021, 3, 3))
	s.webShell()
	s.postDisclosureProbes(day(2021, 3, 3))
	s.proxyShellSuccess(day(2021, 3, 3))
	p := &benchPools{proxy: map[string][]template{}}
	paths := make([]string, 0, len(b.files))
	for k := range b.files {
		paths = append(paths, k)
	}
	slices.Sort(paths)
	want := map[string]bool{
		"proxylogon.ssrf.autodiscover": true, "proxylogon.ssrf.proxylogon": true, "proxylogon.ssrf.ddi-reset": true,
		"webshell.post": true, "proxyshell.success": true,
	}
	got := map[string]bool{}
	for _, path := range paths {
		f := b.files[path]
		var file string
		switch {
		case f.kind == kIIS && strings.Contains(path, "/W3SVC1/"):
			file = "fe"
		case f.kind == kIIS:
			file = "be"
		case f.kind == kProxy:
			file = strings.Split(strings.TrimPrefix(path, proxyDir), "/")[0]
		default:
			continue
		}
		for _, r := range f.recs {
			if strings.HasPrefix(r.line, "#") {
				continue
			}
			tp := newTemplate(r.line, f.kind == kIIS)
			if r.mark == nil && benchTainted(r.line) {
				continue // an unmarked companion line of a planted request
			}
			if r.mark != nil {
				k := file + " " + r.mark.Kind
				if want[r.mark.Kind] && !got[k] {
					got[k] = true
					p.marks = append(p.marks, plant{tp: tp, kind: r.mark.Kind, note: r.mark.Note, file: file})
				}
				continue
			}
			switch file {
			case "fe":
				p.fe = append(p.fe, tp)
			case "be":
				p.be = append(p.be, tp)
			default:
				p.proxy[file] = append(p.proxy[file], tp)
			}
		}
	}
	rank := map[string]int{"proxylogon.ssrf.autodiscover": 0, "proxylogon.ssrf.proxylogon": 1, "proxylogon.ssrf.ddi-reset": 2, "webshell.post": 3, "proxyshell.success": 4}
	slices.SortStableFunc(p.marks, func(x, y plant) int { return rank[x.kind] - rank[y.kind] })
	return p
}

// proxyShellSuccess: the ProxyShell chain reaching /powershell with 200
// on an unpatched server (bench only).
func (s *server) proxyShellSuccess(d time.Time) {
	q := "@evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTBhhZG1pbmlzdHJhdG9yQGNvbnRvc28uY29tVSxTLTEtNS0yMS0zMzEyNzAwMTI2LTM0MDIzNTYxMjUtMTIxMTEwNjEwMS01MDBFAAAAAA==&Email=autodiscover/autodiscover.json%3F@evil.corp"
	s.emit(&request{t: ms(d, 11, 0, 0, 0), method: "POST", stem: "/autodiscover/autodiscover.json", query: q, proto: "Autodiscover",
		clientIP: ProxyShellIP, ua: "python-requests/2.26.0", status: 200, taken: 900, beStem: "/powershell", beQuery: "X-Rps-CAT=VgEAVAdX",
		beUser: s.domain + `\administrator`, anchor: "Smtp~administrator@contoso.com", routingHint: "Url-SMTP",
		feMark: mark("proxyshell.success", "ProxyShell reaches /powershell with 200"), pxMark: mark("proxyshell.success", "ProxyShell reaches /powershell with 200")})
}

type benchFile struct {
	path   string
	kind   string // "fe", "be" or protocol
	size   int64
	start  time.Time
	span   time.Duration
	plants []plant
	seed   uint64
}

// WriteBench writes a benchmark tree of about size bytes under dir.
func WriteBench(dir string, size int64) (BenchInfo, error) {
	if size < 4<<20 {
		return BenchInfo{}, errors.New("bench size must be at least 4 MiB")
	}
	pools := newBenchPools()
	var files []benchFile
	iis := size * 6 / 10
	nIIS := int((iis + benchIISMax - 1) / benchIISMax)
	if nIIS < 2 {
		nIIS = 2
	}
	base := day(2021, 3, 1)
	for i := 0; i < nIIS; i++ {
		site, kind := 1, "fe"
		if i%2 == 1 {
			site, kind = 2, "be"
		}
		d := base.AddDate(0, 0, i/2)
		files = append(files, benchFile{
			path: iisDir + "W3SVC" + itoa(site) + "/u_ex" + string(appendDate(nil, d, 0)[2:]) + ".log",
			kind: kind, size: iis / int64(nIIS), start: d, span: 24 * time.Hour,
		})
	}
	px := size - iis
	nPx := int((px + benchProxyMax - 1) / benchProxyMax)
	protos := []string{"Mapi", "Ecp", "Ews", "Owa", "Autodiscover", "Eas", "Mapi", "Ews", "Owa"}
	for i := 0; i < nPx; i++ {
		proto := protos[i%len(protos)]
		t := base.Add(time.Duration(9+i%9)*time.Hour).AddDate(0, 0, i/len(protos))
		files = append(files, benchFile{
			path: proxyDir + proto + "/HttpProxy_" + string(appendDate(nil, t, 0)) + string(append2(nil, t.Hour())) + "-1.LOG",
			kind: proto, size: px / int64(nPx), start: t, span: time.Hour,
		})
	}
	// Plant the hits: each goes into the first file of its kind (the
	// ProxyShell HttpProxy row into the Autodiscover folder, or Ecp if the
	// tree is too small to have one).
	for _, pl := range pools.marks {
		idx := -1
		for i := range files {
			if files[i].kind == pl.file {
				idx = i
				break
			}
		}
		if idx < 0 && pl.file != "fe" && pl.file != "be" {
			for i := range files {
				if files[i].kind == "Ecp" {
					idx = i
					break
				}
			}
		}
		if idx < 0 {
			continue
		}
		files[idx].plants = append(files[idx].plants, pl)
	}
	for i := range files {
		files[i].seed = uint64(i) + 1
	}

	var (
		mu   sync.Mutex
		info BenchInfo
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	)
	for i := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(f *benchFile) {
			defer wg.Done()
			defer func() { <-sem }()
			n, marks, err := writeBenchFile(dir, f, pools)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			info.Bytes += n
			info.Files++
			info.Marks = append(info.Marks, marks...)
		}(&files[i])
	}
	wg.Wait()
	slices.SortFunc(info.Marks, func(x, y Mark) int {
		if c := strings.Compare(x.Path, y.Path); c != 0 {
			return c
		}
		return x.Line - y.Line
	})
	return info, errors.Join(errs...)
}

func writeBenchFile(dir string, f *benchFile, pools *benchPools) (int64, []Mark, error) {
	p := filepath.Join(dir, filepath.FromSlash(f.path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, nil, err
	}
	out, err := os.Create(p)
	if err != nil {
		return 0, nil, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	r := rand.New(rand.NewPCG(f.seed, 0xbe0c4))
	var pool []template
	var hdr string
	switch f.kind {
	case "fe":
		pool, hdr = pools.fe, iisHeader(f.start)
	case "be":
		pool, hdr = pools.be, iisHeader(f.start)
	default:
		pool, hdr = pools.proxy[f.kind], exHeader("15.01.2106.002", "HttpProxy Logs", f.start, proxyFields)
	}
	if len(pool) == 0 {
		out.Close()
		return 0, nil, fmt.Errorf("no line templates for %s", f.kind)
	}
	avg := 0
	for i := range pool {
		avg += len(pool[i].data) + 2
	}
	avg /= len(pool)
	nLines := int(f.size) / avg
	if nLines < 10 {
		nLines = 10
	}
	step := int64(f.span/time.Millisecond) / int64(nLines)
	w.WriteString(hdr)
	written := int64(len(hdr))
	line := strings.Count(hdr, "\n")
	// Plants sit at fixed fractions of the file so they are easy to find.
	at := map[int]plant{}
	for i, pl := range f.plants {
		at[nLines*(3+2*i)/(4+2*len(f.plants))] = pl
	}
	var marks []Mark
	buf := make([]byte, 0, 4096)
	ts := make([]byte, 0, 19)
	iso := make([]byte, 0, 24)
	t := f.start
	lastSec := int64(-1)
	for i := 0; written < f.size; i++ {
		t = t.Add(time.Duration(1+r.Int64N(2*step)) * time.Millisecond)
		if sec := t.Unix(); sec != lastSec {
			lastSec = sec
			ts = appendIISTime(ts[:0], t)
		}
		iso = appendISO(iso[:0], t)
		buf = buf[:0]
		if pl, ok := at[i]; ok {
			buf = pl.tp.stamp(buf, t, ts, iso, r)
			marks = append(marks, Mark{Path: f.path, Line: line + 1, Source: benchSource(f.kind), Kind: pl.kind, Note: pl.note})
		} else {
			tp := &pool[r.IntN(len(pool))]
			buf = tp.stamp(buf, t, ts, iso, r)
		}
		buf = append(buf, '\r', '\n')
		w.Write(buf)
		written += int64(len(buf))
		line++
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return 0, nil, err
	}
	return written, marks, out.Close()
}

func benchSource(kind string) string {
	switch kind {
	case "fe":
		return "iis-fe"
	case "be":
		return "iis-be"
	}
	return "httpproxy"
}

// BenchTruthTSV renders the planted benchmark hits like Tree.TruthTSV.
func (b BenchInfo) TruthTSV() []byte {
	t := Tree{Marks: b.Marks}
	return t.TruthTSV()
}

// benchTainted reports lines that belong to the attacks or scans and so
// must not be copied as background traffic.
func benchTainted(line string) bool {
	for _, x := range []string{AttackerIP, ProxyShellIP, "ServerInfo~", "aspnet_client", "zgrab", "x.js"} {
		if strings.Contains(line, x) {
			return true
		}
	}
	return false
}
