package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
)

// cb hand-builds a chunk, token by token, for inputs evtxgen would never
// write.
type cb struct {
	b   []byte
	off int
	ids uint64
}

func newCB() *cb { return &cb{b: make([]byte, chunkSize), off: chunkHeaderSize} }

func (c *cb) u8(v ...byte) {
	for _, x := range v {
		c.b[c.off] = x
		c.off++
	}
}
func (c *cb) u16(v uint16) { binary.LittleEndian.PutUint16(c.b[c.off:], v); c.off += 2 }
func (c *cb) u32(v uint32) { binary.LittleEndian.PutUint32(c.b[c.off:], v); c.off += 4 }
func (c *cb) u64(v uint64) { binary.LittleEndian.PutUint64(c.b[c.off:], v); c.off += 8 }
func (c *cb) utf16(s string) {
	for _, u := range utf16.Encode([]rune(s)) {
		c.u16(u)
	}
}

// name writes an inline name.
func (c *cb) name(s string) {
	c.u32(uint32(c.off + 4))
	c.u32(0)
	c.u16(0)
	c.u16(uint16(len(s)))
	c.utf16(s)
	c.u16(0)
}

// open starts an element in template context.
func (c *cb) open(name string, attrs bool) {
	if attrs {
		c.u8(0x41)
	} else {
		c.u8(0x01)
	}
	c.u16(0xFFFF)
	c.u32(0)
	c.name(name)
	if attrs {
		c.u32(0)
	}
}

func (c *cb) attr(name string) { c.u8(0x06); c.name(name) }
func (c *cb) text(s string) {
	c.u8(0x05, tString)
	c.u16(uint16(len(s)))
	c.utf16(s)
}
func (c *cb) subst(id uint16, typ byte) { c.u8(0x0E); c.u16(id); c.u8(typ) }
func (c *cb) elemSubst(name string, id uint16, typ byte) {
	c.open(name, false)
	c.u8(0x02)
	c.subst(id, typ)
	c.u8(0x04)
}

// record writes a record whose Binary XML body writes.
func (c *cb) record(body func()) {
	start := c.off
	c.ids++
	c.u8('*', '*', 0, 0)
	c.u32(0)
	c.u64(c.ids)
	c.u64(132591678640000000) // 2021-03-02
	body()
	for (c.off+4-start)%8 != 0 || c.off == start+recHeaderSize {
		c.u8(0)
	}
	c.u32(uint32(c.off + 4 - start))
	binary.LittleEndian.PutUint32(c.b[start+4:], uint32(c.off-start))
}

// instance writes a template instance, with an inline definition when
// body is not nil.
func (c *cb) instance(id uint32, body func()) {
	c.u8(0x0C, 0x01)
	c.u32(id)
	c.u32(uint32(c.off + 4))
	if body == nil {
		return
	}
	c.u32(0)
	c.off += 16 // GUID
	at := c.off
	c.u32(0)
	c.u8(0x0F, 1, 1, 0)
	body()
	c.u8(0x00)
	binary.LittleEndian.PutUint32(c.b[at:], uint32(c.off-at-4))
}

type val struct {
	typ  byte
	data []byte
}

func (c *cb) values(vs ...val) {
	c.u32(uint32(len(vs)))
	for _, v := range vs {
		c.u16(uint16(len(v.data)))
		c.u8(v.typ, 0)
	}
	for _, v := range vs {
		copy(c.b[c.off:], v.data)
		c.off += len(v.data)
	}
}

func str(s string) val {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return val{tString, b}
}

// event writes a small complete event using template 1 (defined on first
// use in the chunk).
func (c *cb) event(defined *bool, eid uint16, data string) {
	c.record(func() {
		c.u8(0x0F, 1, 1, 0)
		var body func()
		if !*defined {
			body = func() {
				c.open("Event", false)
				c.u8(0x02)
				c.open("System", false)
				c.u8(0x02)
				c.elemSubst("EventID", 0, tUint16)
				c.elemSubst("Channel", 1, tString)
				c.elemSubst("EventRecordID", 2, tUint64)
				c.u8(0x04)
				c.open("EventData", false)
				c.u8(0x02)
				c.open("Data", true)
				c.attr("Name")
				c.text("Payload")
				c.u8(0x02)
				c.subst(3, tString)
				c.u8(0x04)
				c.u8(0x04)
				c.u8(0x04)
			}
			*defined = true
		}
		c.instance(1, body)
		c.values(val{tUint16, []byte{byte(eid), byte(eid >> 8)}}, str("Security"), val{tUint64, binary.LittleEndian.AppendUint64(nil, c.ids)}, str(data))
		c.u8(0x00)
	})
}

// finish fills the chunk header.
func (c *cb) finish() []byte {
	b := c.b
	copy(b, chunkMagicText)
	binary.LittleEndian.PutUint32(b[0x28:], 128)
	binary.LittleEndian.PutUint32(b[0x30:], uint32(c.off))
	binary.LittleEndian.PutUint32(b[0x34:], crc32.ChecksumIEEE(b[chunkHeaderSize:c.off]))
	h := crc32.NewIEEE()
	h.Write(b[:0x78])
	h.Write(b[0x80:chunkHeaderSize])
	binary.LittleEndian.PutUint32(b[0x7C:], h.Sum32())
	return b
}

func file(chunks ...[]byte) []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint32(h[0x20:], 128)
	binary.LittleEndian.PutUint16(h[0x24:], 1)
	binary.LittleEndian.PutUint16(h[0x26:], 3)
	binary.LittleEndian.PutUint16(h[0x28:], fileHeaderSize)
	binary.LittleEndian.PutUint16(h[0x2A:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[0x7C:], crc32.ChecksumIEEE(h[:0x78]))
	return append(h, bytes.Join(chunks, nil)...)
}

// parseWith runs the parser, optionally without its guard.
func parseWith(data []byte, noGuard bool) (*parser, []string, error) {
	var got []string
	p := &parser{ctx: context.Background(), r: bytes.NewReader(data), noGuard: noGuard, emit: func(ev *event.Event) error {
		v, _ := ev.Win.Get("Payload")
		got = append(got, v)
		return nil
	}}
	err := p.run()
	p.notes()
	return p, got, err
}

func TestGuardBombs(t *testing.T) {
	tests := []struct {
		name  string
		bomb  func(c *cb)
		panic bool // the library panics on it (tried without the guard too)
		why   string
	}{
		{name: "unbounded value count", why: "values", bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(2, func() { c.open("Event", false); c.u8(0x03) })
				c.u32(0xFFFFFFFF)
			})
		}},
		{name: "value sizes past the chunk", why: "bytes", bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(1, nil)
				c.u32(9000)
				for i := 0; i < 9000; i++ {
					c.u16(0xFFFF)
					c.u8(tBinary, 0)
				}
			})
		}},
		{name: "SID of 16000 parts", why: "SID", bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(1, nil)
				c.u32(1)
				c.u16(0xFFF0)
				c.u8(tSID, 0)
				c.off += 200
			})
		}},
		{name: "SYSTEMTIME past the chunk", why: "SYSTEMTIME", panic: true, bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(1, nil)
				c.u32(1)
				c.u16(0xFFF0)
				c.u8(tSysTime, 0)
				c.u16(7)
				c.u8(0)
			})
		}},
		{name: "jump to the chunk end", why: "chunk end", panic: true, bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.u8(0x0C, 0x01)
				c.u32(77)
				c.u32(uint32(c.off + 4))
				c.u32(0)
				c.off += 16
				c.u32(uint32(chunkSize - c.off - 4)) // body "length": to the end
				c.u8(0x00)                           // the body itself: empty
			})
		}},
		{name: "value walks", why: "tokens", bomb: func(c *cb) {
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(1, nil)
				c.u32(3000)
				for i := 0; i < 3000; i++ {
					c.u16(0)
					c.u8(tBinXML, 0)
				}
				for i := 0; i < 2000; i++ {
					c.u8(0x07) // no-op tokens every value walks through
				}
			})
		}},
		{name: "self expansion", why: "nodes", bomb: func(c *cb) {
			// A template of 2000 elements, instantiated 40 times by
			// Binary XML values of one record.
			c.record(func() {
				c.u8(0x0F, 1, 1, 0)
				c.instance(9, func() {
					c.open("Event", false)
					c.u8(0x02)
					at := c.off + 1 + 2 + 4
					c.open("x", false)
					c.u8(0x03)
					for i := 0; i < 2000; i++ {
						c.u8(0x01)
						c.u16(0xFFFF)
						c.u32(0)
						c.u32(uint32(at)) // the name "x" again
						c.u8(0x03)
					}
					c.u8(0x04)
				})
				c.u32(40)
				for i := 0; i < 40; i++ {
					c.u16(14)
					c.u8(tBinXML, 0)
				}
				for i := 0; i < 40; i++ {
					c.u8(0x0F, 1, 1, 0)
					c.u8(0x0C, 0x01)
					c.u32(9)
					c.u32(0)
					c.u32(0) // no values
				}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCB()
			defined := false
			c.event(&defined, 4624, "before")
			tt.bomb(c)
			c.event(&defined, 4625, "after")
			data := file(c.finish())
			start := time.Now()
			p, got, err := parseWith(data, false)
			if err != nil || strings.Join(got, ",") != "before,after" || p.st.Malformed != 1 || p.refused != 1 {
				t.Fatalf("err %v, got %q, stats %+v", err, got, p.st)
			}
			if len(p.st.Problems) == 0 || !strings.Contains(p.st.Problems[0], tt.why) {
				t.Errorf("problems %q, want %q", p.st.Problems, tt.why)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if !tt.panic {
				return
			}
			// Without the guard the library panics; the panic costs the
			// record and nothing else.
			p, got, err = parseWith(data, true)
			if err != nil || strings.Join(got, ",") != "before,after" || p.panics != 1 || p.st.Malformed != 1 {
				t.Fatalf("unguarded: err %v, got %q, panics %d, stats %+v", err, got, p.panics, p.st)
			}
			if !strings.Contains(p.st.Problems[0], "panic") {
				t.Errorf("unguarded problems %q", p.st.Problems)
			}
		})
	}
}

// TestChunkBudget fills a chunk with records that each expand a large
// template: the records past the chunk's budget are refused, in bounded
// time and memory.
func TestChunkBudget(t *testing.T) {
	c := newCB()
	c.record(func() {
		c.u8(0x0F, 1, 1, 0)
		c.instance(5, func() {
			c.open("Event", false)
			c.u8(0x02)
			c.open("System", false)
			c.u8(0x02)
			c.elemSubst("EventID", 0, tUint16)
			at := c.off + 1 + 2 + 4
			c.open("y", false)
			c.u8(0x03)
			for i := 0; i < 2500; i++ {
				c.u8(0x01)
				c.u16(0xFFFF)
				c.u32(0)
				c.u32(uint32(at))
				c.u8(0x02, 0x04)
			}
			c.u8(0x04, 0x04)
		})
		c.values(val{tUint16, []byte{1, 0}})
		c.u8(0)
	})
	n := 1
	for c.off < chunkSize-200 {
		c.record(func() {
			c.u8(0x0F, 1, 1, 0)
			c.instance(5, nil)
			c.values(val{tUint16, []byte{2, 0}})
			c.u8(0)
		})
		n++
	}
	data := file(c.finish())
	start := time.Now()
	p, got, err := parseWith(data, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) >= n || int(p.st.Records+p.st.Malformed) != n {
		t.Fatalf("%d records: %d emitted, stats %+v", n, len(got), p.st)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("%d records, %d read, %d refused, %v", n, len(got), p.refused, time.Since(start))
}

// TestHostileGiveUp: a file made of hostile chunks is given up after
// maxHostile of them.
func TestHostileGiveUp(t *testing.T) {
	c := newCB()
	defined := false
	c.event(&defined, 1, "x")
	c.record(func() {
		c.u8(0x0F, 1, 1, 0)
		c.instance(1, nil)
		c.u32(1)
		c.u16(0xFFF0)
		c.u8(tSID, 0)
	})
	chunk := c.finish()
	var chunks [][]byte
	for i := 0; i < maxHostile+10; i++ {
		chunks = append(chunks, chunk)
	}
	p, got, err := parseWith(file(chunks...), false)
	if err != ErrHostile || len(got) != maxHostile+1 {
		t.Fatalf("err %v, %d records, stats %+v", err, len(got), p.st)
	}
}

// TestFlipStats damages generated files at random and reports how the
// damage was absorbed (go test -v -run TestFlipStats ./parse/evtx).
func TestFlipStats(t *testing.T) {
	var recs []event.WinEvent
	for i := 0; i < 600; i++ {
		recs = append(recs, event.WinEvent{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "EX01", EventID: 4624, RecordID: uint64(i + 1),
			Time: time.Date(2021, 3, 2, 7, 0, i%60, 0, time.UTC), Data: []event.KV{{Key: "SubjectUserSid", Value: "S-1-5-18"}, {Key: "SubjectLogonId", Value: "0x3e7"},
				{Key: "LogonGuid", Value: "{6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F}"}, {Key: "IpAddress", Value: "203.0.113.9"}, {Key: "WorkstationName", Value: "WS01"}}})
	}
	good, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	runs := 200
	if testing.Short() {
		runs = 40
	}
	var files, panics, refused, damaged, unread, read, malformed int
	seed := uint64(1)
	for i := 0; i < runs; i++ {
		b := bytes.Clone(good)
		for k := 0; k < 1+i%30; k++ {
			seed = seed*6364136223846793005 + 1442695040888963407
			at := fileHeaderSize + int(seed>>33)%(len(b)-fileHeaderSize)
			b[at] ^= byte(1 << (seed >> 20 % 8))
		}
		p, got, err := parseWith(b, false)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		files++
		panics += p.panics
		refused += p.refused
		damaged += p.damaged
		unread += p.unread
		read += len(got)
		malformed += int(p.st.Malformed)
	}
	t.Logf("%d damaged files of %d records: %d records read, %d malformed (%d refused by the guard, %d library panics recovered, %d damaged runs, %d unreadable)",
		files, len(recs), read, malformed, refused, panics, damaged, unread)
}
