package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The HTML report in a real browser: headless Chromium loads the page from
// a file, with the network flags that keep it from phoning home, and the
// test reads the DOM after the page's script ran, the console log and a
// screenshot. It skips when no Chromium is installed (.ci/run installs
// Debian's).
//
//	EXHUNT_SCREENSHOT=docs/report-html.png  also write the screenshot there
//	                                          (relative to the module root)
//	EXHUNT_HTML_PAGE=/tmp/x.html             shoot that page instead of the
//	                                          test document, e.g. a real hunt

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// runChromium opens page (a file) headless and returns what it wrote.
// --no-sandbox because CI runs as root, where Chromium refuses its sandbox.
func runChromium(t *testing.T, bin, page string, extra ...string) (stdout, stderr string) {
	t.Helper()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	args = append(args, extra...)
	args = append(args, "file://"+filepath.ToSlash(abs))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Chromium's helper processes may hold the pipes after a kill.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v (timed out: %v)\n%s", err, ctx.Err() != nil, tail(errb.String(), 2000))
	}
	return out.String(), errb.String()
}

// consoleMessages returns what the page wrote to the console. Chromium logs
// every console message, whatever its level, as "INFO:CONSOLE"; so any
// message fails: page.js logs nothing, and uncaught exceptions, CSP
// violations and failed loads all arrive this way.
func consoleMessages(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func TestBrowserRendersReport(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium in PATH or /usr/bin (Debian: apt-get install chromium)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	doc := sampleDoc()
	doc.TLP = "amber"
	var buf bytes.Buffer
	if err := HTML(&buf, doc, Options{Elapsed: "1s"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom, stderr := runChromium(t, bin, page, "--dump-dom")
	if msgs := consoleMessages(stderr); len(msgs) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	for _, want := range []string{
		`data-ready="1"`, // page.js ran to its end
		"Compromised: almost certain.",
		`<p class="state">compromised</p>`,
		"TLP:AMBER",
		`<td class="nw">EXH-PL-04</td>`, // a row page.js built from the data island
		"4 finding(s)",                  // its count line
		"&lt;script&gt;alert(1)",        // the hostile excerpt, inert
		"Technical overlap is not attribution",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(dom), "<script>alert(") {
		t.Error("evidence became markup in the DOM")
	}

	shotPage := page
	if p := os.Getenv("EXHUNT_HTML_PAGE"); p != "" {
		shotPage = p
	}
	shot := filepath.Join(dir, "shot.png")
	_, stderr = runChromium(t, bin, shotPage, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
	if msgs := consoleMessages(stderr); len(msgs) > 0 {
		t.Errorf("console messages while taking the screenshot of %s:\n%s", shotPage, strings.Join(msgs, "\n"))
	}
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Fatalf("screenshot is not a plausible PNG (%d bytes)", len(png))
	}
	if dst := os.Getenv("EXHUNT_SCREENSHOT"); dst != "" {
		if !filepath.IsAbs(dst) {
			dst = filepath.Join("..", dst) // relative to the module root, not report/
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of %s written to %s", shotPage, dst)
	}
}

// TestBrowserCatchesErrors is the negative control: the console check
// above must see a thrown error, console.error and a script the CSP
// blocks, or its silence means nothing.
func TestBrowserCatchesErrors(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium in PATH or /usr/bin")
	}
	cases := map[string]string{
		"throw":         `<script>throw new Error("deliberate")</script>`,
		"console.error": `<script>console.error("deliberate")</script>`,
		"csp":           `<meta http-equiv="Content-Security-Policy" content="default-src 'none'"><script>document.title="ran"</script>`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "bad.html")
			if err := os.WriteFile(page, []byte("<!DOCTYPE html><html><head><title>t</title></head><body><p>control</p>"+body+"</body></html>"), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, stderr := runChromium(t, bin, page, "--dump-dom")
			if !strings.Contains(dom, "control") {
				t.Fatalf("page did not load:\n%s", tail(stderr, 2000))
			}
			msgs := consoleMessages(stderr)
			if len(msgs) == 0 {
				t.Errorf("the console check missed %s:\n%s", name, tail(stderr, 3000))
			}
			if name == "throw" && !strings.Contains(strings.Join(msgs, "\n"), "Uncaught Error: deliberate") {
				t.Errorf("uncaught error not reported: %q", msgs)
			}
		})
	}
}

// harnessJS drives the findings table like a reader would and writes what
// it saw into the page, for --dump-dom to return.
const harnessJS = `<script>
(function () {
  var out = [];
  function ids() {
    return Array.prototype.map.call(document.querySelectorAll('#fbody tr.row td:nth-child(5)'), function (td) { return td.textContent; }).join(',');
  }
  function report() {
    var p = document.createElement('p');
    p.id = 'harness';
    p.textContent = out.join('|');
    document.body.appendChild(p);
  }
  out.push('initial=' + ids());
  document.querySelector('th button[data-key="s"]').click();
  out.push('bysev=' + ids());
  var stage = document.getElementById('stage');
  stage.value = '8';
  stage.dispatchEvent(new Event('change'));
  out.push('cleanup=' + ids());
  document.getElementById('reset').click();
  document.querySelector('#fbody tr.row').click();
  var pre = document.querySelector('#fbody tr.detail pre');
  out.push('detail=' + (pre ? pre.textContent : 'none'));
  out.push('pages=' + document.getElementById('pageinfo').textContent);
  var q = document.getElementById('q');
  q.value = '198.51';
  q.dispatchEvent(new Event('input'));
  setTimeout(function () { out.push('search=' + ids()); report(); }, 400);
})();
</script>`

// TestBrowserTable sorts, filters and expands the findings table in
// Chromium. The harness script is added to a copy of the page without its
// CSP (which would rightly block it).
func TestBrowserTable(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium in PATH or /usr/bin")
	}
	var buf bytes.Buffer
	if err := HTML(&buf, sampleDoc(), Options{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	i := strings.Index(page, `<meta http-equiv="Content-Security-Policy"`)
	if i < 0 {
		t.Fatal("no CSP meta")
	}
	j := strings.IndexByte(page[i:], '>')
	page = page[:i] + page[i+j+1:]
	page = strings.Replace(page, "</body>", harnessJS+"</body>", 1)
	file := filepath.Join(t.TempDir(), "table.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, stderr := runChromium(t, bin, file, "--dump-dom", "--virtual-time-budget=3000")
	if msgs := consoleMessages(stderr); len(msgs) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	for _, want := range []string{
		"initial=EXH-PL-07,EXH-PL-04,EXH-EV-23,EXH-YARA-01", // by time, unknown time last
		"bysev=EXH-PL-04,EXH-EV-23,EXH-YARA-01,EXH-PL-07",   // worst first, ties in time order
		"cleanup=EXH-EV-23",
		"detail==cmd|' /C calc'!A0 ·[31mred", // the excerpt, control character made visible
		"pages=rows 1–4 of 4 (page 1 of 1)",
		"search=EXH-PL-07",
	} {
		if !strings.Contains(dom, htmlEscapeText(want)) {
			t.Errorf("table harness: want %q in\n%s", want, harnessOutput(dom))
		}
	}
}

func htmlEscapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func harnessOutput(dom string) string {
	i := strings.Index(dom, `<p id="harness">`)
	if i < 0 {
		return "(harness wrote nothing)"
	}
	return tail(dom[i:], 1000)
}
