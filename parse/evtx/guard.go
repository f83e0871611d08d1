package evtx

import (
	"encoding/binary"
	"fmt"
)

// The library trusts the chunk: a value size that runs past the chunk
// allocates that many zero bytes without moving on, a template instance
// after an inline definition reads an unbounded value count, arrays of
// integers read to the end of the chunk whatever their size, SIDs are
// built by quadratic string concatenation, a byte read exactly at the
// chunk end panics, and every record referencing a large template expands
// all of it. A hostile 64 KiB chunk can so ask for gigabytes or hours.
//
// The guard walks each record the way the library will (same tokens, same
// offsets, same template table, same quirks) without building anything,
// and measures the work: tokens read, nodes expanded, bytes allocated.
// Records over the limits never reach the library: their first Binary XML
// byte is set to the end-of-fragment token in the library's copy of the
// chunk, so the library sees an empty record and still walks past it.
// The walk also learns the type of each value (from the instance's value
// descriptors, as the library reads it) and the name it will have in the
// expanded event: the library drops the type (HexInt64 comes out as a plain
// number, a GUID without braces), and the normaliser needs it to render
// values as Windows does.

// Per-record limits. Real records read a few hundred tokens and expand a
// few hundred nodes (at most 238 on the shared corpus).
const (
	maxSteps    = 1 << 18 // Binary XML tokens read
	maxNodes    = 1 << 16 // template nodes created or expanded
	maxAlloc    = 4 << 20 // bytes allocated for values
	maxDepth    = 32      // nested template definitions and Binary XML values
	maxArgs     = 10240   // values of one template instance (the library caps the first read there)
	maxSIDSubs  = 15      // sub-authorities of a SID (Windows' own limit)
	libStackCap = 1024 * 10
)

// Binary XML value types.
const (
	tNull       = 0x00
	tString     = 0x01
	tUint8      = 0x04
	tUint16     = 0x06
	tInt32      = 0x07
	tUint32     = 0x08
	tInt64      = 0x09
	tUint64     = 0x0A
	tReal32     = 0x0B
	tReal64     = 0x0C
	tBool       = 0x0D
	tBinary     = 0x0E
	tGUID       = 0x0F
	tFileTime   = 0x11
	tSysTime    = 0x12
	tSID        = 0x13
	tHex32      = 0x14
	tHex64      = 0x15
	tBinXML     = 0x21
	tStrList    = 0x81
	tU16Array   = 0x86
	tU64Array   = 0x8A
	tHex64Array = 0x95
)

// special reports whether a value type changes how a value is rendered.
func special(t uint8) bool {
	switch t {
	case tGUID, tFileTime, tHex32, tHex64, tU16Array, tU64Array, tHex64Array:
		return true
	}
	return false
}

// maxSubs bounds the substitution ids whose value names are remembered.
const maxSubs = 1024

// tmpl is what the guard knows of one template of the chunk.
type tmpl struct {
	size int      // nodes in the template tree: the cost of one expansion
	subs []keyRef // substitution id -> name of its value in the expanded event
}

// keyRef locates a value name (UTF-16 text in the chunk), decoded once.
type keyRef struct {
	at, n int
	s     string
	done  bool
}

// spec is the type of one value of a record, by value name.
type spec struct {
	key string
	typ uint8
}

// guard mirrors the library over one chunk.
type guard struct {
	buf   []byte        // the chunk as the library sees it
	known map[int]*tmpl // the library's template table (by template id)
	attr  bool          // the library's attribute mode, which outlives a record

	// Per record.
	prevAttr bool   // attribute mode before the record
	added    []int  // template ids the record defined (undone when it is refused)
	steps    int    // tokens read
	nodes    int    // nodes created or expanded
	alloc    int    // bytes allocated for values
	bad      string // why the record is refused, "" when it is fine
	specs    []spec // types of the record's values that render specially
	patches  []int  // offsets of value-type bytes to rewrite as binary
}

func (g *guard) reset(buf []byte) {
	g.buf = buf
	if g.known == nil {
		g.known = make(map[int]*tmpl)
	}
	clear(g.known)
	g.attr = false
}

// record walks the record whose Binary XML starts at off. It returns false
// when the record must be kept from the library (g.bad says why); the
// template table is then as before the record.
func (g *guard) record(off int) bool {
	g.added = g.added[:0]
	g.specs = g.specs[:0]
	g.patches = g.patches[:0]
	g.steps, g.nodes, g.alloc, g.bad = 0, 0, 0, ""
	g.prevAttr = g.attr
	c := ctx{g: g, off: off}
	c.stack = append(c.stackBuf[:0], frame{name: -1, nameAttr: -1, key: -1})
	c.tree = &c.own
	g.binXML(&c, false, nil, 0)
	g.nodes += c.own // the record root is expanded once
	switch {
	case g.bad != "":
	case g.steps > maxSteps:
		g.bad = fmt.Sprintf("more than %d Binary XML tokens", maxSteps)
	case g.nodes > maxNodes:
		g.bad = fmt.Sprintf("template expansion of %d nodes (limit %d)", g.nodes, maxNodes)
	case g.alloc > maxAlloc:
		g.bad = fmt.Sprintf("values of %d bytes (limit %d)", g.alloc, maxAlloc)
	}
	if g.bad != "" {
		g.undo()
		return false
	}
	return true
}

// undo forgets what the last record taught the template table.
func (g *guard) undo() {
	for _, id := range g.added {
		delete(g.known, id)
	}
	g.added = g.added[:0]
	g.attr = g.prevAttr
}

// ctx mirrors the library's ParseContext.
type ctx struct {
	g        *guard
	off      int
	stack    []frame // the library's template stack, root included
	stackBuf [8]frame
	rootGone bool // the root was popped: new nodes no longer reach the tree
	tree     *int // node count of the tree being built
	own      int
	tm       *tmpl // template whose body this context parses, nil otherwise
}

// frame is one element on the stack. Offsets point at UTF-16 text in the
// chunk, -1 when unknown.
type frame struct {
	name, nameLen         int // element name
	nameAttr, nameAttrLen int // literal value of its Name attribute
	key, keyLen           int // current attribute name (the library's CurrentKey)
}

func (g *guard) fail(format string, args ...any) {
	if g.bad == "" {
		g.bad = fmt.Sprintf(format, args...)
	}
}

func (g *guard) stop() bool { return g.bad != "" || g.steps > maxSteps }

// u8 mirrors ConsumeUint8, which indexes the chunk when the offset is
// exactly at its end (the library panics) and returns 0 past it.
func (c *ctx) u8() uint8 {
	n := len(c.g.buf)
	switch {
	case c.off == n:
		c.g.fail("Binary XML runs to the chunk end")
		return 0
	case c.off > n:
		return 0
	}
	v := c.g.buf[c.off]
	c.off++
	return v
}

func (c *ctx) u16() uint16 {
	if c.off+2 > len(c.g.buf) {
		return 0
	}
	v := binary.LittleEndian.Uint16(c.g.buf[c.off:])
	c.off += 2
	return v
}

func (c *ctx) u32() uint32 {
	if c.off+4 > len(c.g.buf) {
		return 0
	}
	v := binary.LittleEndian.Uint32(c.g.buf[c.off:])
	c.off += 4
	return v
}

// bytes mirrors ConsumeBytes: in range it advances, out of range it
// allocates n zero bytes and does not move.
func (c *ctx) bytes(n int) (start int, ok bool) {
	if c.off+n > len(c.g.buf) {
		c.g.alloc += n
		return -1, false
	}
	start = c.off
	c.off += n
	return start, true
}

// text mirrors ReadPrefixedUnicodeString.
func (c *ctx) text(nullTerminated bool) (start, chars int) {
	count := int(c.u16())
	if nullTerminated {
		count++
	}
	s, ok := c.bytes(count * 2)
	c.g.alloc += count * 3 // UTF-16 decode and the string
	if !ok {
		return -1, 0
	}
	return s, count
}

// name mirrors ReadName: a name is inline when its offset is where the
// reader stands, else it is read at that offset through a context copy.
func (c *ctx) name() (start, chars int) {
	at := int(c.u32())
	if at != c.off {
		c.g.alloc += 256 // the library copies the context (a map and a node)
		t := ctx{g: c.g, off: at + 6}
		return t.text(true)
	}
	c.off += 6
	return c.text(true)
}

func (c *ctx) top() *frame {
	if len(c.stack) == 0 {
		return nil
	}
	return &c.stack[len(c.stack)-1]
}

// attached reports whether a node added now lands in the tree being
// built: the library gives a fresh, detached node when its stack is empty.
func (c *ctx) attached() bool { return !c.rootGone && len(c.stack) > 0 }

func (c *ctx) addNode() {
	c.g.nodes++
	if c.attached() {
		*c.tree++
	}
}

// curKey mirrors CurrentKey: the current attribute name in attribute mode.
func (c *ctx) curKey() (start, chars int) {
	f := c.top()
	if !c.g.attr || f == nil {
		return -1, 0
	}
	return f.key, f.keyLen
}

// binXML mirrors ParseBinXML.
func (g *guard) binXML(c *ctx, template bool, tm *tmpl, depth int) {
	if depth > maxDepth {
		g.fail("Binary XML nested deeper than %d", maxDepth)
		return
	}
	c.tm = tm
	for !g.stop() {
		g.steps++
		tag := c.u8()
		if g.bad != "" {
			return
		}
		switch tag {
		case 0x00:
			return
		case 0x01, 0x41:
			if template {
				c.off += 2 // dependency identifier
			}
			c.u32() // data size
			n, nl := c.name()
			if tag == 0x41 {
				c.u32() // attribute list size
			}
			c.addNode()
			if c.top() == nil {
				g.nodes++ // a fresh parent node
			}
			if len(c.stack) < libStackCap {
				c.stack = append(c.stack, frame{name: n, nameLen: nl, nameAttr: -1, key: -1})
			}
		case 0x02:
			g.attr = false
			if f := c.top(); f != nil {
				f.key = -1
			}
		case 0x03, 0x04:
			if len(c.stack) > 0 {
				c.stack = c.stack[:len(c.stack)-1]
				if len(c.stack) == 0 {
					c.rootGone = true
				}
			}
		case 0x05, 0x45:
			c.u8() // value type
			s, sl := c.text(false)
			k, kl := c.curKey()
			if !g.keyIs(k, kl, "xmlns") {
				c.addNode()
			}
			if f := c.top(); f != nil && g.attr && g.keyIs(k, kl, "Name") {
				f.nameAttr, f.nameAttrLen = s, sl
			}
			g.attr = false
		case 0x06, 0x46:
			n, nl := c.name()
			if f := c.top(); f != nil {
				f.key, f.keyLen = n, nl
			}
			g.attr = true
		case 0x07, 0x47, 0x08, 0x48, 0x09, 0x49, 0x0A, 0x0B:
			// The library skips the token byte only.
		case 0x0C:
			if !g.instance(c, depth) {
				return
			}
		case 0x0D, 0x0E:
			id := int(c.u16())
			vt := c.u8()
			if vt == 0 {
				vt = c.u8()
			}
			c.addNode()
			if tm != nil {
				g.declare(c, tm, id)
			}
		case 0x0F:
			c.off += 3
		default:
			return
		}
	}
}

// declare records where the name of substitution id's value is: the
// attribute name in attribute mode, else the element's Name attribute,
// else the element name (how the library keys the expanded value).
func (g *guard) declare(c *ctx, tm *tmpl, id int) {
	f := c.top()
	if f == nil || id >= maxSubs {
		return
	}
	for len(tm.subs) <= id {
		tm.subs = append(tm.subs, keyRef{at: -1})
	}
	if tm.subs[id].at >= 0 {
		return
	}
	switch {
	case g.attr:
		tm.subs[id] = keyRef{at: f.key, n: f.keyLen}
	case f.nameAttr >= 0:
		tm.subs[id] = keyRef{at: f.nameAttr, n: f.nameAttrLen}
	default:
		tm.subs[id] = keyRef{at: f.name, n: f.nameLen}
	}
}

// key returns the name of substitution id's value, "" when unknown.
func (g *guard) key(t *tmpl, id int) string {
	if id >= len(t.subs) || t.subs[id].at < 0 {
		return ""
	}
	k := &t.subs[id]
	if !k.done {
		k.s, k.done = g.str(k.at, k.n), true
	}
	return k.s
}

// instance mirrors ParseTemplateInstance; false stops the walk like the
// library's false return.
func (g *guard) instance(c *ctx, depth int) bool {
	if c.u8() != 0x01 {
		return false
	}
	id := int(c.u32())
	if id == 0 {
		return false
	}
	c.u32() // definition offset (the library ignores it)
	nargs := int(c.u32())
	if nargs > maxArgs {
		nargs = maxArgs
	}
	t, ok := g.known[id]
	if !ok {
		c.off += 16 // GUID
		bodyLen := int(c.u32())
		t = &tmpl{}
		g.known[id] = t
		g.added = append(g.added, id)
		g.alloc += 512
		tc := ctx{g: g, off: c.off}
		tc.stack = append(tc.stackBuf[:0], frame{name: -1, nameAttr: -1, key: -1})
		tc.tree = &t.size
		saved := g.attr
		g.attr = false // a context copy starts outside attribute mode
		g.binXML(&tc, true, t, depth+1)
		g.attr = saved
		if g.stop() {
			return false
		}
		c.off += bodyLen
		nargs = int(c.u32()) // read again, and not capped by the library
		if nargs > maxArgs {
			g.fail("template instance with %d values", nargs)
			return false
		}
	}
	g.alloc += nargs*16 + 64
	g.steps += nargs
	type desc struct {
		size, typ, at int
	}
	var small [64]desc
	args := small[:0]
	for i := 0; i < nargs; i++ {
		at := c.off + 2
		size := int(c.u16())
		typ := int(c.u16())
		if at+2 > len(g.buf) {
			at = -1
		}
		args = append(args, desc{size, typ, at})
	}
	for i, a := range args {
		if g.stop() {
			return false
		}
		if special(uint8(a.typ)) && a.typ < 0x100 {
			if k := g.key(t, i); k != "" {
				g.specs = append(g.specs, spec{k, uint8(a.typ)})
			}
		}
		if !g.value(c, a.size, a.typ, a.at, depth) {
			return false
		}
	}
	g.nodes += t.size // the expansion
	k, kl := c.curKey()
	if !g.keyIs(k, kl, "xmlns") {
		c.addNode()
	}
	return true
}

// value mirrors the reading of one substitution value.
func (g *guard) value(c *ctx, size, typ, at, depth int) bool {
	switch typ {
	case tNull:
		c.off += size
	case tString, tStrList:
		c.bytes(size)
		g.alloc += size*2 + 16
	case tUint8:
		c.u8()
		if g.bad != "" {
			return false
		}
	case tUint16:
		c.u16()
	case tInt32, tUint32, tHex32, tReal32:
		c.u32()
	case tInt64, tUint64, tHex64, tReal64, tFileTime:
		if c.off+8 <= len(g.buf) {
			c.off += 8
		}
	case tBool:
		switch size {
		case 8, 4, 2:
			if c.off+size <= len(g.buf) {
				c.off += size
			}
		case 1:
			c.u8()
			if g.bad != "" {
				return false
			}
		}
	case tBinary, tGUID:
		c.bytes(size)
		g.alloc += 64
	case tSysTime:
		// The library slices size bytes once 16 are there: more than
		// the chunk holds panics.
		if c.off+16 > len(g.buf) {
			break
		}
		if c.off+size > len(g.buf) {
			g.fail("SYSTEMTIME value of %d bytes past the chunk end", size)
			return false
		}
		c.off += size
	case tSID:
		c.u8()
		if g.bad != "" {
			return false
		}
		c.u8()
		if g.bad != "" {
			return false
		}
		c.bytes(6)
		subs := 0
		if size > 8 {
			subs = (size - 8 + 3) / 4
		}
		if subs > maxSIDSubs {
			g.fail("SID with %d sub-authorities", subs)
			return false
		}
		for i := 0; i < subs; i++ {
			c.u32()
		}
		g.alloc += 64 * (subs + 2)
	case tBinXML:
		nc := ctx{g: g, off: c.off}
		nc.stack = append(nc.stackBuf[:0], frame{name: -1, nameAttr: -1, key: -1})
		nc.tree = &nc.own
		saved := g.attr
		g.attr = false
		g.binXML(&nc, false, nil, depth+1)
		g.attr = saved
		if g.stop() {
			return false
		}
		c.off += size
		g.nodes += nc.own
	case tU16Array, tU64Array, tHex64Array:
		// The library reads these to the chunk end whatever their size;
		// the library's copy says "binary" instead, which it reads by
		// size, and the normaliser decodes them by their real type.
		if at >= 0 {
			g.patches = append(g.patches, at)
		}
		c.bytes(size)
		g.alloc += 64
	default:
		c.bytes(size)
		g.alloc += size + 16
	}
	return true
}

// keyIs compares UTF-16 text in the chunk (library names are decoded
// with trailing NULs removed) with an ASCII string.
func (g *guard) keyIs(at, chars int, s string) bool {
	if at < 0 {
		return false
	}
	for chars > 0 && at+2*chars <= len(g.buf) && g.buf[at+2*chars-2] == 0 && g.buf[at+2*chars-1] == 0 {
		chars--
	}
	if chars != len(s) || at+2*chars > len(g.buf) {
		return false
	}
	for i := 0; i < chars; i++ {
		if g.buf[at+2*i] != s[i] || g.buf[at+2*i+1] != 0 {
			return false
		}
	}
	return true
}

// str decodes UTF-16 text in the chunk the way the library does.
func (g *guard) str(at, chars int) string {
	if at < 0 || at+2*chars > len(g.buf) {
		return ""
	}
	return utf16String(g.buf[at : at+2*chars])
}
