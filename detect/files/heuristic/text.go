package heuristic

import (
	"bytes"
	"io"
	"regexp"

	"github.com/exhunt/exhunt/detect/files"
)

// pageExts are the extensions IIS hands to a script engine by default
// (ASP.NET and classic ASP), i.e. where a dropped file runs code.
var pageExts = map[string]bool{
	".aspx": true, ".ashx": true, ".asmx": true, ".asp": true, ".asa": true, ".asax": true, ".ascx": true,
	".svc": true, ".soap": true, ".rem": true, ".cshtml": true, ".vbhtml": true, ".cer": true, ".cdx": true,
}

// pageMarker finds server-side code markers: a page directive, an inline
// code block or a server script element.
var pageMarker = regexp.MustCompile(`(?i)<%@\s*(page|webhandler|webservice|control|application|assembly|import)\b|<script[^>]{0,120}runat\s*=\s*["']?server|<%[=\s]?\s*[a-z_]`)

// codeExec finds what makes a page a shell rather than a stray page: a
// script engine's eval on input, process start, dynamic assembly loading or
// compiling, raw file writes from the request.
var codeExec = regexp.MustCompile(`(?i)\beval\s*\(\s*(request|[a-z_][a-z0-9_]{0,40}\s*,)|["']unsafe["']|processstartinfo|process\s*\.\s*start\s*\(|new\s+(system\.diagnostics\.)?process\s*\(|cmd\.exe|powershell|wscript\.shell|assembly\s*\.\s*load\s*\(|getmethod\s*\(\s*"load"|compileassemblyfromsource|jscriptevaluate|request\.files|httppostedfile|\.saveas\s*\(|createobject\s*\(|new\s+(system\.net\.sockets\.)?socket\s*\(|frombase64string\s*\(\s*(context\.)?request`)

// codeExecution returns the first code-execution marker in b and its
// offset.
func codeExecution(b []byte) (string, int, bool) {
	loc := codeExec.FindIndex(b)
	if loc == nil {
		return "", -1, false
	}
	return string(b[loc[0]:loc[1]]), loc[0], true
}

// isPage reports whether a target is a page IIS would run: by extension,
// or by server-side markers in its head.
func isPage(t *files.Target) bool {
	return pageExts[t.Ext()] || pageMarker.Match(t.Head)
}

// findAny looks for the needles in the file: head, tail, and through At up
// to limit bytes (in overlapping chunks). It returns the first needle
// found and its offset (-1 when it is not in the head).
func findAny(t *files.Target, limit int64, needles ...[]byte) ([]byte, int64, bool) {
	best, at := []byte(nil), int64(-1)
	for _, n := range needles {
		if i := bytes.Index(t.Head, n); i >= 0 && (at < 0 || int64(i) < at) {
			best, at = n, int64(i)
		}
	}
	if best != nil {
		return best, at, true
	}
	for _, n := range needles {
		if bytes.Contains(t.Tail, n) {
			return n, -1, true
		}
	}
	if t.At == nil || t.Size <= int64(len(t.Head)) {
		return nil, -1, false
	}
	const chunk = 1 << 20
	overlap := 0
	for _, n := range needles {
		overlap = max(overlap, len(n))
	}
	buf := make([]byte, chunk+overlap)
	for off := int64(len(t.Head)) - int64(overlap); off < min(t.Size, limit); off += chunk {
		k, err := t.At.ReadAt(buf, max(0, off))
		for _, n := range needles {
			if bytes.Contains(buf[:k], n) {
				return n, -1, true
			}
		}
		if err != nil && err != io.EOF {
			break
		}
		if err == io.EOF {
			break
		}
	}
	return nil, -1, false
}

// fields builds a Fields map from key, value pairs, leaving out empty values.
func fields(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
