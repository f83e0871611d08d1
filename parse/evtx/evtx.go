// Package evtx reads Windows XML Event Log files (.evtx) into events, on
// top of Velocidex's pure-Go parser (www.velocidex.com/golang/evtx).
//
// Evidence may be a zip entry, so the file is streamed: the 4 KiB file
// header, then 64 KiB chunks in order until EOF, whatever chunk count the
// header claims. Chunks without the "ElfChnk" magic are skipped (trailing
// zero-filled chunks are normal: Windows preallocates them). Within a
// chunk, records are found by their own headers up to the free-space
// offset; damaged bytes between records are skipped and the walk resumes
// at the next intact record.
//
// The library expects trusted input, so each record first goes through a
// guard that mirrors the library's walk without building anything (see
// guard.go) and keeps over-budget or crashing records away from it; the
// library then runs under recover(), and a panic costs only the record
// that caused it. Records are normalised once, straight from the
// library's ordered dictionaries, into an event.WinEvent that is reused
// for the whole file.
package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	vevtx "www.velocidex.com/golang/evtx"
)

// Format constants.
const (
	fileHeaderSize  = 4096
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	recHeaderSize   = 24
	minRecordSize   = recHeaderSize + 4
)

// Per-chunk work bounds. A real chunk expands a few thousand nodes (on the
// shared corpus: at most 7,689 per chunk and 238 per record).
const (
	batchNodes     = 1 << 18 // nodes one library call may expand: bounds memory
	chunkNodes     = 1 << 20 // nodes a chunk may expand in all: bounds time
	maxPanics      = 4       // library panics tolerated per chunk
	maxHostile     = 64      // chunks with refused records before the file is given up
	fileFlagDirty  = 0x1
	fileFlagNoCRC  = 0x4
	recordMagic    = "**\x00\x00"
	fileMagic      = "ElfFile\x00"
	chunkMagicText = "ElfChnk\x00"
)

// Errors returned for a whole file.
var (
	ErrNotEVTX   = errors.New("not an EVTX file (no ElfFile header)")
	ErrTruncated = errors.New("EVTX file header truncated")
	ErrHostile   = errors.New("EVTX file given up: too many chunks over the parser's limits")
)

// Parse reads one .evtx file from r. Records are emitted in file order,
// with Loc.Record set to the EventRecordID. A damaged record or chunk is
// skipped and counted (Stats.Malformed, Stats.Problems); the error is
// reserved for a file that is not EVTX at all, a read error, the
// emit callback's error, and ctx's.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	p := &parser{ctx: ctx, r: r, m: m, emit: emit}
	err := p.run()
	p.notes()
	return p.st, err
}

// rec is one record found in a chunk.
type rec struct {
	off, size int
	id, ft    uint64 // record header: identifier and written time
	gap       bool   // a placeholder bridging damaged bytes
	bad       string // why the guard kept it from the library
	cost      int    // nodes the library will expand for it
	s0, s1    int    // its value types: parser.specs[s0:s1]
}

type parser struct {
	ctx  context.Context
	r    io.Reader
	m    parse.Meta
	emit parse.Emit
	st   parse.Stats

	buf   []byte // the chunk as read
	lib   []byte // the library's copy: record ids rewritten, refused records blanked
	rd    bytes.Reader
	chunk vevtx.Chunk
	recs  []rec
	specs []spec
	g     guard
	n     norm
	w     event.WinEvent
	ev    event.Event
	raw   []byte

	flags    uint32
	chunkNo  int // chunks read, 0-based index of the current one
	zeroRun  int // zero-filled chunks since the last chunk with records
	holes    int // zero-filled chunks followed by real ones
	badChunk int // chunks that are neither zero-filled nor chunks
	crcBad   int // chunks whose checksums do not match
	damaged  int // damaged byte runs skipped inside chunks
	repaired int // records read although their magic was damaged
	refused  int // records kept from the library by the guard
	panics   int // library panics recovered
	unread   int // records the library returned without an event
	skipped  int // records skipped because their chunk hit a limit
	hostile  int // chunks with refused records
	cut      bool
	why      string // first refusal or panic, for the notes

	noGuard bool // tests: hand every record to the library unchecked
}

func (p *parser) run() error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	hdr := make([]byte, fileHeaderSize)
	n, err := io.ReadFull(p.r, hdr)
	switch {
	case n == 0 && err == io.EOF:
		return fmt.Errorf("%w: empty file", ErrNotEVTX)
	case n < len(fileMagic) && err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: %d bytes", ErrNotEVTX, n)
	case err != nil && err != io.ErrUnexpectedEOF:
		return err
	case !bytes.HasPrefix(hdr, []byte(fileMagic)):
		return ErrNotEVTX
	case err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: %d of %d bytes", ErrTruncated, n, fileHeaderSize)
	}
	p.flags = binary.LittleEndian.Uint32(hdr[0x78:])
	if p.flags&fileFlagNoCRC == 0 && crc32.ChecksumIEEE(hdr[:0x78]) != binary.LittleEndian.Uint32(hdr[0x7C:]) {
		p.st.Note("file header checksum mismatch")
	}

	bufs := bufPool.Get().(*[2][]byte)
	defer bufPool.Put(bufs)
	p.buf, p.lib = bufs[0], bufs[1]
	p.chunk = vevtx.Chunk{Fd: &p.rd}
	for ; ; p.chunkNo++ {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(p.r, p.buf)
		switch {
		case n == 0 && err == io.EOF:
			return nil
		case err == io.ErrUnexpectedEOF:
			clear(p.buf[n:])
			p.cut = true
		case err != nil:
			return err
		}
		if err := p.doChunk(n); err != nil {
			return err
		}
		if p.hostile > maxHostile {
			return ErrHostile
		}
		if p.cut {
			return nil
		}
	}
}

// doChunk parses the chunk in p.buf (n bytes were read).
func (p *parser) doChunk(n int) error {
	b := p.buf
	if !bytes.HasPrefix(b, []byte(chunkMagicText)) {
		if allZero(b[:n]) {
			p.zeroRun++
		} else {
			p.badChunk++
			p.st.Malformed++
		}
		return nil
	}
	p.holes += p.zeroRun
	p.zeroRun = 0

	limit := chunkSize
	free := int(binary.LittleEndian.Uint32(b[0x30:]))
	if free >= chunkHeaderSize && free <= chunkSize {
		limit = free
	}
	if p.flags&fileFlagNoCRC == 0 && p.flags&fileFlagDirty == 0 && !p.cut {
		h := crc32.NewIEEE()
		h.Write(b[:0x78])
		h.Write(b[0x80:chunkHeaderSize])
		if h.Sum32() != binary.LittleEndian.Uint32(b[0x7C:]) ||
			crc32.ChecksumIEEE(b[chunkHeaderSize:limit]) != binary.LittleEndian.Uint32(b[0x34:]) {
			p.crcBad++
		}
	}
	limit = min(limit, n)

	var forced []int // records whose library parse panicked
	done := 0        // records before done are handled
	for {
		p.prepare(limit, forced)
		k, err := p.emitFrom(done)
		if err != nil || k < 0 {
			return err
		}
		forced = append(forced, k)
		done = k + 1
		if len(forced) >= maxPanics {
			left := len(p.recs) - done
			p.skipped += left
			p.st.Malformed += int64(left)
			p.hostile++
			return nil
		}
	}
}

// prepare finds the chunk's records and runs the guard over them, on a
// fresh library copy of the chunk. forced records are refused whatever
// the guard says.
func (p *parser) prepare(limit int, forced []int) {
	copy(p.lib, p.buf)
	p.walk(limit, len(forced) == 0)
	for i := range p.recs {
		binary.LittleEndian.PutUint64(p.lib[p.recs[i].off+8:], uint64(i))
	}
	p.g.reset(p.lib)
	p.specs = p.specs[:0]
	total := 0
	hostile := false
	for i := range p.recs {
		rc := &p.recs[i]
		if rc.gap {
			continue
		}
		isForced := false
		for _, f := range forced {
			isForced = isForced || f == i
		}
		if p.noGuard && !isForced {
			continue
		}
		ok := !isForced && p.g.record(rc.off+recHeaderSize)
		if ok && total+p.g.nodes > chunkNodes {
			p.g.fail("chunk expands more than %d nodes", chunkNodes)
			p.g.undo()
			ok = false
		}
		if !ok {
			rc.bad = p.g.bad
			if isForced {
				rc.bad = "library panic"
			}
			p.lib[rc.off+recHeaderSize] = 0 // end of fragment: the library sees an empty record
			hostile = hostile || !isForced
			continue
		}
		for _, at := range p.g.patches {
			p.lib[at] = tBinary
		}
		rc.cost = p.g.nodes
		total += rc.cost
		rc.s0 = len(p.specs)
		p.specs = append(p.specs, p.g.specs...)
		rc.s1 = len(p.specs)
	}
	if hostile && len(forced) == 0 {
		p.hostile++
	}
}

// walk lists the records of the chunk up to limit, bridging damaged runs
// in the library's copy so that its sequential walk lands on the next
// intact record. A record whose size and trailing size copy agree is read
// even if its magic is damaged (the library's copy gets the magic back).
// count is false when the chunk is walked again after a library panic.
func (p *parser) walk(limit int, count bool) {
	damage := func() {
		if count {
			p.damaged++
			p.st.Malformed++
		}
	}
	p.recs = p.recs[:0]
	off := chunkHeaderSize
	for off+recHeaderSize <= limit {
		if size, ok := p.validRecord(off, limit); ok {
			if string(p.buf[off:off+4]) != recordMagic {
				copy(p.lib[off:], recordMagic)
				if count {
					p.repaired++
				}
			}
			p.recs = append(p.recs, rec{
				off:  off,
				size: size,
				id:   binary.LittleEndian.Uint64(p.buf[off+8:]),
				ft:   binary.LittleEndian.Uint64(p.buf[off+16:]),
			})
			off += size
			continue
		}
		next := p.resync(off+1, limit)
		if next < 0 {
			// Unused space (zeros, when the free-space offset was not
			// usable) or the cut end of a truncated file is not damage.
			if !allZero(p.buf[off:limit]) && !(p.cut && limit < chunkSize) {
				damage()
			}
			return
		}
		damage()
		if k := len(p.recs); k > 0 {
			last := &p.recs[k-1]
			binary.LittleEndian.PutUint32(p.lib[last.off+4:], uint32(next-last.off))
		} else if next-off > recHeaderSize {
			copy(p.lib[off:], recordMagic)
			binary.LittleEndian.PutUint32(p.lib[off+4:], uint32(next-off))
			p.lib[off+recHeaderSize] = 0
			p.recs = append(p.recs, rec{off: off, size: next - off, gap: true})
		} else {
			return
		}
		off = next
	}
}

// validRecord checks a record's size against its trailing size copy.
func (p *parser) validRecord(off, limit int) (int, bool) {
	b := p.buf
	if off+recHeaderSize > limit {
		return 0, false
	}
	size := int(binary.LittleEndian.Uint32(b[off+4:]))
	if size < minRecordSize || size > limit-off || int(binary.LittleEndian.Uint32(b[off+size-4:])) != size {
		return 0, false
	}
	return size, true
}

// resync finds the next intact record at or after off.
func (p *parser) resync(off, limit int) int {
	for off < limit {
		j := bytes.Index(p.buf[off:limit], []byte(recordMagic))
		if j < 0 {
			return -1
		}
		if _, ok := p.validRecord(off+j, limit); ok {
			return off + j
		}
		off += j + 1
	}
	return -1
}

// emitFrom hands records from index i on to the library in batches and
// emits them. It returns the index of a record whose parse panicked (the
// records before it are emitted), or -1 when the chunk is done.
func (p *parser) emitFrom(i int) (int, error) {
	for i < len(p.recs) {
		j, cost := i, 0
		for j < len(p.recs) && (j == i || cost+p.recs[j].cost <= batchNodes) {
			cost += p.recs[j].cost
			j++
		}
		recs, perr := p.libParse(i, j)
		if perr != nil {
			// Bisect: [0,i) parses, [0,j) panics.
			for j-i > 1 {
				mid := (i + j) / 2
				recs, perr := p.libParse(i, mid)
				if perr != nil {
					j = mid
					continue
				}
				if err := p.emitRecords(recs, i, mid); err != nil {
					return 0, err
				}
				i = mid
			}
			p.panics++
			p.st.Malformed++
			if p.why == "" {
				p.why = fmt.Sprintf("record %d: parser panic: %v", p.recs[i].id, perr)
			}
			return i, nil
		}
		if err := p.emitRecords(recs, i, j); err != nil {
			return 0, err
		}
		i = j
	}
	return -1, nil
}

// libParse runs the library over records [0,j) of the chunk and returns
// records [i,j) (the library parses from the chunk start: templates are
// defined by earlier records).
func (p *parser) libParse(i, j int) (recs []*vevtx.EventRecord, perr any) {
	defer func() {
		if r := recover(); r != nil {
			recs, perr = nil, r
		}
	}()
	p.rd.Reset(p.lib)
	p.chunk.Header.FirstEventRecNumber = 0
	p.chunk.Header.LastEventRecNumber = uint64(j - 1)
	recs, _ = p.chunk.Parse(i)
	return recs, nil
}

// emitRecords normalises and emits the library's records for [i,j).
func (p *parser) emitRecords(recs []*vevtx.EventRecord, i, j int) error {
	for _, r := range recs {
		k := int(r.Header.RecordID)
		if k < i || k >= j {
			continue
		}
		rc := &p.recs[k]
		switch {
		case rc.gap:
			continue
		case rc.bad != "":
			p.refused++
			p.st.Malformed++
			if p.why == "" {
				p.why = fmt.Sprintf("record %d refused: %s", rc.id, rc.bad)
			}
			continue
		}
		if !p.n.event(&p.w, r.Event, rc.ft, p.specs[rc.s0:rc.s1]) {
			p.unread++
			p.st.Malformed++
			continue
		}
		if p.w.RecordID == 0 {
			p.w.RecordID = rc.id
		}
		p.st.Records++
		p.st.Seen(p.w.Time)
		p.raw = p.w.AppendValues(p.raw[:0])
		p.ev.ResetWin(event.EVTX, event.Location{Path: p.m.Path, Record: p.w.RecordID}, p.m.Host, &p.w, p.raw)
		if err := p.emit(&p.ev); err != nil {
			return err
		}
		if p.st.Records&255 == 0 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// notes turns the counters into bounded problem notes, worst first.
func (p *parser) notes() {
	st := &p.st
	if p.panics+p.refused > 0 {
		st.Note(fmt.Sprintf("%d record(s) skipped by the parser's guard (%d library panics recovered); first: %s", p.refused+p.panics, p.panics, p.why))
	}
	if p.skipped > 0 {
		st.Note(fmt.Sprintf("%d record(s) skipped in chunks that hit the parser's limits", p.skipped))
	}
	if p.damaged > 0 {
		st.Note(fmt.Sprintf("%d damaged run(s) of bytes skipped inside chunks", p.damaged))
	}
	if p.repaired > 0 {
		st.Note(fmt.Sprintf("%d record(s) with a damaged header magic read anyway", p.repaired))
	}
	if p.unread > 0 {
		st.Note(fmt.Sprintf("%d record(s) without a readable event", p.unread))
	}
	if p.badChunk > 0 {
		st.Note(fmt.Sprintf("%d chunk(s) without the ElfChnk magic skipped", p.badChunk))
	}
	if p.holes > 0 {
		st.Note(fmt.Sprintf("%d zero-filled chunk(s) between chunks with records", p.holes))
	}
	if p.crcBad > 0 {
		st.Note(fmt.Sprintf("%d chunk(s) with a checksum mismatch (records read anyway)", p.crcBad))
	}
	if p.cut {
		st.Note(fmt.Sprintf("file ends inside chunk %d (truncated)", p.chunkNo))
	}
}

// bufPool recycles the two chunk buffers of a parse: an Exchange server
// has hundreds of small event logs.
var bufPool = sync.Pool{New: func() any { return &[2][]byte{make([]byte, chunkSize), make([]byte, chunkSize)} }}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
