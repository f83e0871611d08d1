// Package evtxgen writes Windows XML Event Log (.evtx) files from
// normalised events, so that tests, fuzz seeds and the shipped samples carry
// event logs we made ourselves: the public EVTX corpora cannot be copied
// into the repository.
//
// The files have the layout Windows writes ([MS-EVEN6] and Joachim Metz's
// libevtx notes), reduced to what a reader needs:
//
//   - A 4096-byte file header: "ElfFile\x00", first and last chunk number,
//     next record identifier, header size 128, version 3.1, header block
//     size 4096, chunk count, flags 0 (clean), and at offset 0x7C the CRC32
//     (IEEE) of its first 120 bytes.
//   - 64 KiB chunks: "ElfChnk\x00", first and last record number and
//     identifier, header size 128, the offset of the last record, the
//     free-space offset (end of the last record), the CRC32 of the record
//     bytes (0x200 up to the free-space offset) at 0x34, and at 0x7C the
//     CRC32 of header bytes 0x00–0x77 and 0x80–0x1FF. The string and template
//     hash tables (0x80–0x1FF) are left empty: they only speed up appending,
//     readers follow the offsets in the records.
//   - Records from offset 0x200: "**\x00\x00", size, record identifier,
//     written time (FILETIME), Binary XML, zero padding to a multiple of 8
//     bytes, and the size again. Readers walk the Binary XML until an
//     end-of-stream token, so at least one zero byte follows the values
//     (Windows' padding; without it a reader takes the size copy for
//     tokens).
//   - Each record's Binary XML is a fragment header and one template
//     instance, as Windows writes it. A template is defined inline (id,
//     GUID, data size, body) the first time a chunk uses it, and referenced
//     by its chunk offset afterwards; element names are written inline once
//     per chunk and referenced by offset afterwards (the 16-bit name hash is
//     hash*65599+char over the UTF-16 units). Every value is a substitution
//     (0x0E, optional) filled from the instance's value array.
//
// The event layout is
//
//	<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//	  <System><Provider Name=""/><EventID/><Version/><Level/><Task/>
//	    <Opcode/><Keywords/><TimeCreated SystemTime=""/><EventRecordID/>
//	    <Execution ProcessID="" ThreadID=""/><Channel/><Computer/></System>
//	  <EventData><Data Name="...">...</Data>...</EventData>
//	</Event>
//
// A Data key "Data" is written as an unnamed <Data> element (classic
// Application-log events). Values are written with the type Windows uses
// when they are in that type's canonical text form, so that they read back
// identically: "S-1-5-18" as a SID, "{00000000-0000-0000-0000-000000000000}"
// (upper case) as a GUID, "0x3e7" (lower case, no leading zeros) as
// HexInt64, "4624" (no leading zeros, below 2^32) as UInt32; anything else
// is a UTF-16 string.
//
// The package is for fixtures: Write keeps the whole file in memory.
package evtxgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/exhunt/exhunt/event"
)

// Format constants.
const (
	FileHeaderSize  = 4096
	ChunkSize       = 65536
	ChunkHeaderSize = 512
	recordHeader    = 24
)

// Value types of the Binary XML substitution array.
const (
	typeString = 0x01
	typeUint8  = 0x04
	typeUint16 = 0x06
	typeUint32 = 0x08
	typeUint64 = 0x0A
	typeGUID   = 0x0F
	typeFILE   = 0x11
	typeSID    = 0x13
	typeHex64  = 0x15
)

// ErrTooLarge reports a record that does not fit in an empty chunk.
var ErrTooLarge = errors.New("evtxgen: record larger than a chunk")

// Write writes recs as one .evtx file. A record with RecordID 0 gets the
// previous record's identifier plus one; a zero Time is written as FILETIME
// 0. EventIDs must fit in 16 bits (as in every EVTX file).
func Write(w io.Writer, recs []event.WinEvent) error {
	g := &gen{}
	g.newChunk()
	var next uint64 = 1
	for i := range recs {
		r := &recs[i]
		id := r.RecordID
		if id == 0 {
			id = next
		}
		next = id + 1
		if r.EventID > 0xFFFF {
			return fmt.Errorf("evtxgen: record %d: EventID %d does not fit in 16 bits", i, r.EventID)
		}
		if !r.Time.IsZero() && (r.Time.Year() < 1601 || r.Time.Year() > 2200) {
			return fmt.Errorf("evtxgen: record %d: time %v out of range", i, r.Time)
		}
		if !g.add(r, id) {
			g.finishChunk()
			g.newChunk()
			if !g.add(r, id) {
				return fmt.Errorf("%w (record %d)", ErrTooLarge, i)
			}
		}
	}
	g.finishChunk()

	var hdr [FileHeaderSize]byte
	copy(hdr[0:], "ElfFile\x00")
	n := uint64(len(g.chunks))
	binary.LittleEndian.PutUint64(hdr[0x08:], 0)
	if n > 0 {
		binary.LittleEndian.PutUint64(hdr[0x10:], n-1)
	}
	binary.LittleEndian.PutUint64(hdr[0x18:], next)
	binary.LittleEndian.PutUint32(hdr[0x20:], 128)
	binary.LittleEndian.PutUint16(hdr[0x24:], 1) // minor
	binary.LittleEndian.PutUint16(hdr[0x26:], 3) // major
	binary.LittleEndian.PutUint16(hdr[0x28:], FileHeaderSize)
	binary.LittleEndian.PutUint16(hdr[0x2A:], uint16(n))
	binary.LittleEndian.PutUint32(hdr[0x7C:], crc32.ChecksumIEEE(hdr[:0x78]))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for _, c := range g.chunks {
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// Bytes is Write into memory.
func Bytes(recs []event.WinEvent) ([]byte, error) {
	var b bytes.Buffer
	err := Write(&b, recs)
	return b.Bytes(), err
}

// gen builds chunks.
type gen struct {
	chunks [][]byte

	c        []byte         // current chunk (ChunkSize)
	off      int            // free-space offset
	lastRec  int            // offset of the last record, 0 when none
	first    uint64         // first record identifier
	last     uint64         // last record identifier
	names    map[string]int // name -> chunk offset of its name structure
	tmpls    map[string]int // template shape -> chunk offset of its definition
	newNames []string       // names added by the record being built
	newTmpl  string
	rec      []byte // record being built
	base     int    // chunk offset of rec[0]
	vals     []value
}

type value struct {
	typ  byte
	data []byte
}

func (g *gen) newChunk() {
	g.c = make([]byte, ChunkSize)
	g.off = ChunkHeaderSize
	g.lastRec = 0
	g.names = map[string]int{}
	g.tmpls = map[string]int{}
}

func (g *gen) finishChunk() {
	if g.lastRec == 0 {
		return // no records: no chunk
	}
	c := g.c
	copy(c, "ElfChnk\x00")
	binary.LittleEndian.PutUint64(c[0x08:], g.first)
	binary.LittleEndian.PutUint64(c[0x10:], g.last)
	binary.LittleEndian.PutUint64(c[0x18:], g.first)
	binary.LittleEndian.PutUint64(c[0x20:], g.last)
	binary.LittleEndian.PutUint32(c[0x28:], 128)
	binary.LittleEndian.PutUint32(c[0x2C:], uint32(g.lastRec))
	binary.LittleEndian.PutUint32(c[0x30:], uint32(g.off))
	binary.LittleEndian.PutUint32(c[0x34:], crc32.ChecksumIEEE(c[ChunkHeaderSize:g.off]))
	h := crc32.NewIEEE()
	h.Write(c[:0x78])
	h.Write(c[0x80:ChunkHeaderSize])
	binary.LittleEndian.PutUint32(c[0x7C:], h.Sum32())
	g.chunks = append(g.chunks, c)
}

// add encodes r at the chunk's free-space offset; false when it does not
// fit (the chunk is left as it was).
func (g *gen) add(r *event.WinEvent, id uint64) bool {
	g.base = g.off
	g.rec = g.rec[:0]
	g.newNames = g.newNames[:0]
	g.newTmpl = ""

	ft := FILETIME(r.Time)
	g.rec = append(g.rec, "**\x00\x00"...)
	g.rec = le32(g.rec, 0) // size, patched below
	g.rec = le64(g.rec, id)
	g.rec = le64(g.rec, ft)
	g.rec = append(g.rec, 0x0F, 0x01, 0x01, 0x00) // fragment header

	shape := shapeOf(r)
	guid := guidOf(shape)
	g.rec = append(g.rec, 0x0C, 0x01)
	g.rec = append(g.rec, guid[:4]...) // template id: the GUID's first 4 bytes
	if def, ok := g.tmpls[shape]; ok {
		g.rec = le32(g.rec, uint32(def))
	} else {
		def := g.pos() + 4
		g.rec = le32(g.rec, uint32(def))
		g.rec = le32(g.rec, 0) // next template definition
		g.rec = append(g.rec, guid[:]...)
		sizeAt := len(g.rec)
		g.rec = le32(g.rec, 0)
		start := len(g.rec)
		g.body(r)
		binary.LittleEndian.PutUint32(g.rec[sizeAt:], uint32(len(g.rec)-start))
		g.newTmpl = shape
		g.tmpls[shape] = def
	}

	// Values, in substitution order (see body).
	g.vals = g.vals[:0]
	g.vals = append(g.vals,
		value{typeString, utf16le(nil, r.Provider)},
		value{typeUint16, le16(nil, uint16(r.EventID))},
		value{typeUint8, []byte{0}}, // Version
		value{typeUint8, []byte{r.Level}},
		value{typeUint16, le16(nil, 0)}, // Task
		value{typeUint8, []byte{0}},     // Opcode
		value{typeHex64, le64(nil, 0)},  // Keywords
		value{typeFILE, le64(nil, ft)},
		value{typeUint64, le64(nil, id)},
		value{typeUint32, le32(nil, 0)}, // ProcessID
		value{typeUint32, le32(nil, 0)}, // ThreadID
		value{typeString, utf16le(nil, r.Channel)},
		value{typeString, utf16le(nil, r.Computer)},
	)
	for _, kv := range r.Data {
		g.vals = append(g.vals, encodeValue(kv.Value))
	}
	g.rec = le32(g.rec, uint32(len(g.vals)))
	for _, v := range g.vals {
		if len(v.data) > 0xFFFF {
			g.rollback()
			return false
		}
		g.rec = le16(g.rec, uint16(len(v.data)))
		g.rec = append(g.rec, v.typ, 0)
	}
	for _, v := range g.vals {
		g.rec = append(g.rec, v.data...)
	}
	// End of stream, then zeros up to a multiple of 8 with the size copy.
	g.rec = append(g.rec, 0x00)
	for (len(g.rec)+4)%8 != 0 {
		g.rec = append(g.rec, 0x00)
	}
	size := len(g.rec) + 4
	binary.LittleEndian.PutUint32(g.rec[4:], uint32(size))
	g.rec = le32(g.rec, uint32(size))
	if g.off+size > ChunkSize {
		g.rollback()
		return false
	}
	copy(g.c[g.off:], g.rec)
	if g.lastRec == 0 {
		g.first = id
	}
	g.last = id
	g.lastRec = g.off
	g.off += size
	return true
}

// rollback forgets the names and template the failed record defined.
func (g *gen) rollback() {
	for _, n := range g.newNames {
		delete(g.names, n)
	}
	if g.newTmpl != "" {
		delete(g.tmpls, g.newTmpl)
	}
}

// pos is the chunk offset of the next byte of rec.
func (g *gen) pos() int { return g.base + len(g.rec) }

// body writes the template definition data; substitution indexes follow
// the value order in add.
func (g *gen) body(r *event.WinEvent) {
	g.rec = append(g.rec, 0x0F, 0x01, 0x01, 0x00)
	g.elem("Event", []attr{{name: "xmlns", text: "http://schemas.microsoft.com/win/2004/08/events/event"}}, func() {
		g.elem("System", nil, func() {
			g.elem("Provider", []attr{{name: "Name", sub: 0, typ: typeString}}, nil)
			g.subElem("EventID", 1, typeUint16)
			g.subElem("Version", 2, typeUint8)
			g.subElem("Level", 3, typeUint8)
			g.subElem("Task", 4, typeUint16)
			g.subElem("Opcode", 5, typeUint8)
			g.subElem("Keywords", 6, typeHex64)
			g.elem("TimeCreated", []attr{{name: "SystemTime", sub: 7, typ: typeFILE}}, nil)
			g.subElem("EventRecordID", 8, typeUint64)
			g.elem("Execution", []attr{{name: "ProcessID", sub: 9, typ: typeUint32}, {name: "ThreadID", sub: 10, typ: typeUint32}}, nil)
			g.subElem("Channel", 11, typeString)
			g.subElem("Computer", 12, typeString)
		})
		if len(r.Data) == 0 {
			return
		}
		g.elem("EventData", nil, func() {
			for i, kv := range r.Data {
				sub := 13 + i
				typ := encodeValue(kv.Value).typ
				var attrs []attr
				if kv.Key != "Data" {
					attrs = []attr{{name: "Name", text: kv.Key}}
				}
				g.elem("Data", attrs, func() { g.subst(sub, typ) })
			}
		})
	})
	g.rec = append(g.rec, 0x00) // end of fragment
}

// attr is an attribute with a literal text value or a substitution.
type attr struct {
	name string
	text string
	sub  int
	typ  byte
}

func (g *gen) subElem(name string, sub int, typ byte) {
	g.elem(name, nil, func() { g.subst(sub, typ) })
}

func (g *gen) subst(sub int, typ byte) {
	g.rec = append(g.rec, 0x0E)
	g.rec = le16(g.rec, uint16(sub))
	g.rec = append(g.rec, typ)
}

// elem writes one element in template context: token, dependency id,
// data size (from after the size field to the end of the element), name,
// attribute list, content.
func (g *gen) elem(name string, attrs []attr, content func()) {
	tok := byte(0x01)
	if len(attrs) > 0 {
		tok = 0x41
	}
	g.rec = append(g.rec, tok)
	g.rec = le16(g.rec, 0xFFFF) // no dependency
	sizeAt := len(g.rec)
	g.rec = le32(g.rec, 0)
	g.name(name)
	if len(attrs) > 0 {
		listAt := len(g.rec)
		g.rec = le32(g.rec, 0)
		for i, a := range attrs {
			t := byte(0x46) // more attributes follow
			if i == len(attrs)-1 {
				t = 0x06
			}
			g.rec = append(g.rec, t)
			g.name(a.name)
			if a.text != "" || a.typ == 0 {
				g.rec = append(g.rec, 0x05, typeString)
				u := utf16.Encode([]rune(a.text))
				g.rec = le16(g.rec, uint16(len(u)))
				for _, c := range u {
					g.rec = le16(g.rec, c)
				}
			} else {
				g.subst(a.sub, a.typ)
			}
		}
		binary.LittleEndian.PutUint32(g.rec[listAt:], uint32(len(g.rec)-listAt-4))
	}
	if content == nil {
		g.rec = append(g.rec, 0x03) // close empty element
	} else {
		g.rec = append(g.rec, 0x02) // close start element
		content()
		g.rec = append(g.rec, 0x04) // end element
	}
	binary.LittleEndian.PutUint32(g.rec[sizeAt:], uint32(len(g.rec)-sizeAt-4))
}

// name writes a name reference, and the name structure itself the first
// time the chunk uses the name.
func (g *gen) name(s string) {
	if off, ok := g.names[s]; ok {
		g.rec = le32(g.rec, uint32(off))
		return
	}
	off := g.pos() + 4
	g.rec = le32(g.rec, uint32(off))
	g.names[s] = off
	g.newNames = append(g.newNames, s)
	u := utf16.Encode([]rune(s))
	var h uint32
	for _, c := range u {
		h = h*65599 + uint32(c)
	}
	g.rec = le32(g.rec, 0) // next string in the hash bucket
	g.rec = le16(g.rec, uint16(h))
	g.rec = le16(g.rec, uint16(len(u)))
	for _, c := range u {
		g.rec = le16(g.rec, c)
	}
	g.rec = le16(g.rec, 0)
}

// shapeOf names a template: the EventData layout of a record (names and
// value types).
func shapeOf(r *event.WinEvent) string {
	var b strings.Builder
	b.WriteString("v1")
	for _, kv := range r.Data {
		b.WriteByte(0)
		b.WriteString(kv.Key)
		b.WriteByte(0)
		b.WriteByte(encodeValue(kv.Value).typ)
	}
	return b.String()
}

func guidOf(shape string) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(shape))
	var g [16]byte
	copy(g[:], h.Sum(nil))
	if g[0]|g[1]|g[2]|g[3] == 0 {
		g[0] = 1 // a template id is never 0
	}
	return g
}

// encodeValue picks the value type Windows would use for s when s is in
// that type's canonical form (see the package doc).
func encodeValue(s string) value {
	if b, ok := sidBytes(s); ok {
		return value{typeSID, b}
	}
	if b, ok := guidBytes(s); ok {
		return value{typeGUID, b}
	}
	if len(s) > 2 && len(s) <= 18 && s[:2] == "0x" && (s[2] != '0' || len(s) == 3) {
		if v, err := strconv.ParseUint(s[2:], 16, 64); err == nil && "0x"+strconv.FormatUint(v, 16) == s {
			return value{typeHex64, le64(nil, v)}
		}
	}
	if len(s) > 0 && len(s) <= 10 && (s[0] != '0' || len(s) == 1) {
		if v, err := strconv.ParseUint(s, 10, 32); err == nil && strconv.FormatUint(v, 10) == s {
			return value{typeUint32, le32(nil, uint32(v))}
		}
	}
	return value{typeString, utf16le(nil, s)}
}

// sidBytes encodes "S-1-<authority>-<sub>..." (at most 15 sub-authorities).
func sidBytes(s string) ([]byte, bool) {
	if !strings.HasPrefix(s, "S-") {
		return nil, false
	}
	parts := strings.Split(s[2:], "-")
	if len(parts) < 2 || len(parts) > 17 {
		return nil, false
	}
	var nums []uint64
	for i, p := range parts {
		bits := 32
		switch i {
		case 0:
			bits = 8
		case 1:
			bits = 48
		}
		v, err := strconv.ParseUint(p, 10, bits)
		if err != nil || strconv.FormatUint(v, 10) != p {
			return nil, false
		}
		nums = append(nums, v)
	}
	b := []byte{byte(nums[0]), byte(len(nums) - 2)}
	for sh := 40; sh >= 0; sh -= 8 {
		b = append(b, byte(nums[1]>>sh))
	}
	for _, v := range nums[2:] {
		b = le32(b, uint32(v))
	}
	return b, true
}

// guidBytes encodes "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (upper case).
func guidBytes(s string) ([]byte, bool) {
	if len(s) != 38 || s[0] != '{' || s[37] != '}' || strings.ToUpper(s) != s {
		return nil, false
	}
	h := strings.ReplaceAll(s[1:37], "-", "")
	if len(h) != 32 || s[9] != '-' || s[14] != '-' || s[19] != '-' || s[24] != '-' {
		return nil, false
	}
	d, err1 := strconv.ParseUint(h[0:8], 16, 32)
	w1, err2 := strconv.ParseUint(h[8:12], 16, 16)
	w2, err3 := strconv.ParseUint(h[12:16], 16, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, false
	}
	b := le32(nil, uint32(d))
	b = le16(b, uint16(w1))
	b = le16(b, uint16(w2))
	for i := 16; i < 32; i += 2 {
		v, err := strconv.ParseUint(h[i:i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		b = append(b, byte(v))
	}
	return b, true
}

func utf16le(b []byte, s string) []byte {
	for _, c := range utf16.Encode([]rune(s)) {
		b = le16(b, c)
	}
	return b
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// FILETIME converts t to Windows FILETIME (100 ns ticks since 1601); the
// zero time is 0.
func FILETIME(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix()*10000000 + int64(t.Nanosecond())/100 + 116444736000000000)
}
