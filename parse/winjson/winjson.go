// Package winjson reads Windows events exported as JSON: what a collector
// or a converter leaves when the .evtx files are gone (Winlogbeat and
// Elastic, NXLog, OTRF/Mordor datasets, evtx_dump, Hayabusa and
// Velociraptor exports, Get-WinEvent | ConvertTo-Json).
//
// The file is one JSON object per line (the usual form, read line by line
// so that a broken line costs only itself), or a top-level array or a
// sequence of pretty-printed objects (read object by object, each bounded
// in size). UTF-16 files with a byte-order mark (Windows PowerShell's
// Out-File) are transcoded. Each object is normalised once into an
// event.WinEvent, whatever its shape (see shapes.go); objects that are not
// Windows events, broken JSON and over-long records are counted and
// skipped.
package winjson

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// maxObject bounds one pretty-printed object (a JSON-lines record is
// bounded by parse.MaxLine).
const maxObject = 1 << 20

// peekSize is how much of the file decides between JSON lines and a
// stream of objects.
const peekSize = 64 << 10

// Parse reads one JSON export of Windows events. Loc.Line is the line on
// which the record's object starts, Loc.Record its record id.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	p := &parser{ctx: ctx, m: m, emit: emit}
	br := bufio.NewReaderSize(utf16Reader(r), peekSize)
	head, _ := br.Peek(peekSize)
	var err error
	if streamed(head) {
		err = p.stream(br)
	} else {
		err = p.lines(br)
	}
	p.notes()
	return p.st, err
}

type parser struct {
	ctx  context.Context
	m    parse.Meta
	emit parse.Emit
	st   parse.Stats

	t   tree
	w   event.WinEvent
	ev  event.Event
	raw []byte

	invalid  int64 // broken JSON
	foreign  int64 // valid JSON, not a Windows event
	overlong int64 // records over the size bounds
	junk     int64 // lines of text between objects
}

// streamed reports whether the file is an array or pretty-printed
// objects rather than one object per line: it starts with '[', or its
// first object does not end on its first line.
func streamed(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 {
		return false
	}
	switch head[0] {
	case '[':
		return true
	case '{':
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line = head[:i]
		} else if len(head) == peekSize {
			return false // one long line
		}
		var s scanner
		for _, c := range line {
			if s.step(c) {
				return false // the first object closes on its line
			}
		}
		return true
	}
	// Text before the first object ("Record 1" lines of evtx_dump).
	return bytes.IndexByte(head, '{') >= 0
}

// lines reads JSON lines.
func (p *parser) lines(r io.Reader) error {
	lines, overlong, err := parse.Lines(p.ctx, r, func(n int64, line []byte) error {
		line = bytes.TrimSpace(line)
		line = bytes.TrimSuffix(line, []byte(","))
		if len(line) == 0 || len(line) == 1 && (line[0] == '[' || line[0] == ']') {
			return nil
		}
		return p.record(n, line)
	})
	p.st.Lines = lines
	p.overlong += overlong
	p.st.Malformed += overlong
	return err
}

// scanner follows JSON nesting byte by byte: strings, escapes, depth.
type scanner struct {
	depth      int
	inStr, esc bool
}

// step consumes c and reports whether it closes a top-level object.
func (s *scanner) step(c byte) bool {
	switch {
	case s.inStr:
		switch {
		case s.esc:
			s.esc = false
		case c == '\\':
			s.esc = true
		case c == '"':
			s.inStr = false
		}
	case c == '"':
		s.inStr = s.depth > 0
	case c == '{' || c == '[':
		s.depth++
	case c == '}' || c == ']':
		if s.depth > 0 {
			s.depth--
			return s.depth == 0 && c == '}'
		}
	}
	return false
}

// stream reads a top-level array or a sequence of objects.
func (p *parser) stream(br *bufio.Reader) error {
	var (
		s       scanner
		obj     []byte
		line    int64 = 1
		start   int64
		over    bool
		text    bool // non-blank text outside objects on this line
		lineBuf []byte
	)
	endLine := func() {
		if text && !isRecordHeader(lineBuf) {
			p.junk++
			p.st.Malformed++
		}
		text, lineBuf = false, lineBuf[:0]
	}
	for n := 0; ; n++ {
		c, err := br.ReadByte()
		if err == io.EOF {
			endLine()
			p.st.Lines = line
			if s.depth > 0 {
				p.invalid++ // an object cut by the end of the file
				p.st.Malformed++
			}
			return nil
		}
		if err != nil {
			p.st.Lines = line
			return err
		}
		if n&0xFFFF == 0 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
		if s.depth == 0 && !s.inStr {
			switch c {
			case '{':
				start, obj, over = line, append(obj[:0], c), false
				s.step(c)
			case '\n':
				endLine()
				line++
			case ' ', '\t', '\r', ',', '[', ']', 0xEF, 0xBB, 0xBF: // a top-level array, a BOM
			default:
				text = true
				if len(lineBuf) < 64 {
					lineBuf = append(lineBuf, c)
				}
			}
			continue
		}
		if c == '\n' {
			line++
		}
		if !over {
			if len(obj) >= maxObject {
				over = true
				obj = obj[:0]
			} else {
				obj = append(obj, c)
			}
		}
		if s.step(c) {
			if over {
				p.overlong++
				p.st.Malformed++
				continue
			}
			if err := p.record(start, obj); err != nil {
				return err
			}
		}
	}
}

// isRecordHeader recognises evtx_dump's "Record 12" separator lines.
func isRecordHeader(b []byte) bool {
	b = bytes.TrimSpace(b)
	if !bytes.HasPrefix(b, []byte("Record")) {
		return false
	}
	b = bytes.TrimSpace(b[len("Record"):])
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// record decodes one object and emits it.
func (p *parser) record(line int64, b []byte) error {
	if err := p.t.parse(string(b)); err != nil {
		p.invalid++
		p.st.Malformed++
		return nil
	}
	f := filler{t: &p.t, w: &p.w}
	if !f.fill() {
		p.foreign++
		p.st.Malformed++
		return nil
	}
	p.st.Records++
	p.st.Seen(p.w.Time)
	p.raw = p.w.AppendValues(p.raw[:0])
	p.ev.ResetWin(event.WinJSON, event.Location{Path: p.m.Path, Line: line, Record: p.w.RecordID}, p.m.Host, &p.w, p.raw)
	return p.emit(&p.ev)
}

func (p *parser) notes() {
	if p.invalid > 0 {
		p.st.Note(fmt.Sprintf("%d record(s) of invalid JSON skipped", p.invalid))
	}
	if p.foreign > 0 {
		p.st.Note(fmt.Sprintf("%d JSON object(s) that are not Windows events skipped", p.foreign))
	}
	if p.overlong > 0 {
		p.st.Note(fmt.Sprintf("%d record(s) over the size limit skipped", p.overlong))
	}
	if p.junk > 0 {
		p.st.Note(fmt.Sprintf("%d line(s) of text between JSON objects skipped", p.junk))
	}
}
