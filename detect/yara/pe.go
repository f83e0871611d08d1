package yara

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// The pe module, after libyara 4.2's: the same header checks, the same
// RVA-to-offset mapping, the same limits and the same quirks (is_dll()
// returns the characteristic bit, exports(n) is false past the number of
// exports, section names keep inner NULs), so rules see the values yara
// sees. Authenticode signer certificates are described (pe_sig.go), not
// verified, as in libyara 4.2.

const (
	maxPESections   = 96
	maxPEImports    = 16384
	maxPEExports    = 8192
	maxExportName   = 512
	maxResources    = 65536
	imageFileDLL    = 0x2000
	peKey           = "\x00pe" // the parsed file, kept in the module root
	sizeofSection   = 40
	sizeofFileHdr   = 20
	sizeofOptHdr32  = 224
	sizeofOptHdr64  = 240
	dirExport       = 0
	dirImport       = 1
	dirResource     = 2
	dirSecurity     = 4
	dirDebug        = 6
	dirDelayImport  = 13
	optMagic64      = 0x20b
	importStandard  = 1
	importDelayed   = 2
	resourceVersion = 16
)

var validMachines = map[uint16]bool{
	0x0: true, 0x1d3: true, 0x8664: true, 0x1c0: true, 0x1c4: true, 0xaa64: true, 0xebc: true,
	0x14c: true, 0x200: true, 0x9041: true, 0x266: true, 0x366: true, 0x466: true, 0x1f0: true,
	0x1f1: true, 0x166: true, 0x1a2: true, 0x1a3: true, 0x1a6: true, 0x1a8: true, 0x1c2: true, 0x169: true,
}

// peFile is a parsed PE image.
type peFile struct {
	data     []byte
	hdr      int // offset of the NT headers ("PE\0\0")
	is64     bool
	nsect    int
	optSize  int
	imports  []peDLL
	delayed  []peDLL
	exports  []peExport
	imphash  string
	richText []byte // clear rich signature, for version()/toolid()
}

type peDLL struct {
	name  string
	funcs []peFunc
}

type peFunc struct {
	name       string
	ordinal    int64
	hasOrdinal bool
	rva        int64
}

type peExport struct {
	name    string
	hasName bool
	ordinal int64
}

func (p *peFile) u16(off int) (uint16, bool) {
	if off < 0 || off+2 > len(p.data) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(p.data[off:]), true
}

func (p *peFile) u32(off int) (uint32, bool) {
	if off < 0 || off+4 > len(p.data) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(p.data[off:]), true
}

func (p *peFile) u64(off int) (uint64, bool) {
	if off < 0 || off+8 > len(p.data) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(p.data[off:]), true
}

func (p *peFile) fits(off, n int) bool {
	return off >= 0 && n >= 0 && off <= len(p.data) && n <= len(p.data)-off
}

// peHeader finds the NT headers as libyara's pe_get_header does, or -1.
func peHeader(data []byte) int {
	if len(data) < 64 || data[0] != 'M' || data[1] != 'Z' {
		return -1
	}
	lfanew := int64(int32(binary.LittleEndian.Uint32(data[0x3c:])))
	if lfanew < 0 {
		return -1
	}
	headers := lfanew + 4 + sizeofFileHdr
	if int64(len(data)) < headers {
		return -1
	}
	h := int(lfanew)
	if binary.LittleEndian.Uint32(data[h:]) != 0x4550 {
		return -1
	}
	if int64(len(data)) < headers+sizeofOptHdr32 {
		return -1
	}
	if binary.LittleEndian.Uint16(data[h+24:]) == optMagic64 {
		headers += sizeofOptHdr64
	} else {
		headers += sizeofOptHdr32
	}
	if int64(len(data)) < headers {
		return -1
	}
	if !validMachines[binary.LittleEndian.Uint16(data[h+4:])] {
		return -1
	}
	return h
}

func newPE(data []byte) *peFile {
	h := peHeader(data)
	if h < 0 {
		return nil
	}
	p := &peFile{data: data, hdr: h}
	n, _ := p.u16(h + 6)
	p.nsect = int(n)
	o, _ := p.u16(h + 20)
	p.optSize = int(o)
	m, _ := p.u16(h + 24)
	p.is64 = m == optMagic64
	return p
}

func (p *peFile) opt() int { return p.hdr + 24 }

// optional header fields that differ in offset (and width) between PE32
// and PE32+.
func (p *peFile) optField(off32, off64 int, wide bool) int64 {
	if p.is64 {
		if wide {
			v, _ := p.u64(p.opt() + off64)
			return int64(v)
		}
		v, _ := p.u32(p.opt() + off64)
		return int64(v)
	}
	v, _ := p.u32(p.opt() + off32)
	return int64(v)
}

func (p *peFile) firstSection() int { return p.hdr + 4 + sizeofFileHdr + p.optSize }

func (p *peFile) fileAlignment() uint32 { v, _ := p.u32(p.opt() + 36); return v }

// rvaToOffset is libyara's pe_rva_to_offset; -1 when the RVA has no file
// offset.
func (p *peFile) rvaToOffset(rva uint64) int64 {
	lowest := uint32(0xffffffff)
	var secRVA, secOff, secRaw uint32
	s := p.firstSection()
	for i := 0; i < min(p.nsect, maxPESections); i++ {
		if !p.fits(s, sizeofSection) {
			return -1
		}
		va, _ := p.u32(s + 12)
		vs, _ := p.u32(s + 8)
		raw, _ := p.u32(s + 16)
		ptr, _ := p.u32(s + 20)
		if lowest > va {
			lowest = va
		}
		if rva >= uint64(va) && rva-uint64(va) < uint64(vs) && secRVA <= va {
			align := min(p.fileAlignment(), 0x200)
			secRVA, secOff, secRaw = va, ptr, raw
			if align != 0 {
				if rest := secOff % align; rest != 0 {
					secOff -= rest
				}
			}
		}
		s += sizeofSection
	}
	if rva < uint64(lowest) {
		secRVA, secOff, secRaw = 0, 0, uint32(len(p.data))
	}
	if rva-uint64(secRVA) >= uint64(secRaw) {
		return -1
	}
	r := int64(secOff) + int64(rva-uint64(secRVA))
	if r >= int64(len(p.data)) {
		return -1
	}
	return r
}

// directory returns the offset of data directory entry i if it lies
// within the optional header, or -1.
func (p *peFile) directory(i int) int {
	start := p.opt() + 96
	if p.is64 {
		start = p.opt() + 112
	}
	if start+8*i > p.opt()+p.optSize {
		return -1
	}
	return start + 8*i
}

func (p *peFile) dirEntry(i int) (va, size uint32, ok bool) {
	d := p.directory(i)
	if d < 0 || !p.fits(d, 8) {
		return 0, 0, false
	}
	va, _ = p.u32(d)
	size, _ = p.u32(d + 4)
	return va, size, true
}

// cstring reads a NUL-terminated string of at most max bytes at off.
func (p *peFile) cstring(off int64, max int) string {
	if off < 0 || off >= int64(len(p.data)) {
		return ""
	}
	b := p.data[off:]
	if len(b) > max {
		b = b[:max]
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func peModule() *module {
	root := map[string]*schema{}
	for k, v := range peConstants {
		root[k] = sConstInt(v)
	}
	ints := []string{"is_pe", "machine", "number_of_sections", "timestamp", "pointer_to_symbol_table",
		"number_of_symbols", "size_of_optional_header", "characteristics", "entry_point", "entry_point_raw",
		"image_base", "number_of_rva_and_sizes", "number_of_version_infos", "opthdr_magic", "size_of_code",
		"size_of_initialized_data", "size_of_uninitialized_data", "base_of_code", "base_of_data",
		"section_alignment", "file_alignment", "win32_version_value", "size_of_image", "size_of_headers",
		"checksum", "subsystem", "dll_characteristics", "size_of_stack_reserve", "size_of_stack_commit",
		"size_of_heap_reserve", "size_of_heap_commit", "loader_flags", "number_of_imports",
		"number_of_imported_functions", "number_of_delayed_imports", "number_of_delayed_imported_functions",
		"number_of_exports", "export_timestamp", "resource_timestamp", "number_of_resources",
		"number_of_signatures"}
	for _, k := range ints {
		root[k] = sInt()
	}
	for _, k := range []string{"dll_name", "pdb_path"} {
		root[k] = sStr()
	}
	majmin := func() *schema { return sStruct(map[string]*schema{"major": sInt(), "minor": sInt()}) }
	for _, k := range []string{"linker_version", "os_version", "image_version", "subsystem_version", "resource_version"} {
		root[k] = majmin()
	}
	root["version_info"] = sDict(sStr())
	root["version_info_list"] = sArray(sStruct(map[string]*schema{"key": sStr(), "value": sStr()}))
	root["data_directories"] = sArray(sStruct(map[string]*schema{"virtual_address": sInt(), "size": sInt()}))
	root["sections"] = sArray(sStruct(map[string]*schema{
		"name": sStr(), "full_name": sStr(), "characteristics": sInt(), "virtual_address": sInt(),
		"virtual_size": sInt(), "raw_data_offset": sInt(), "raw_data_size": sInt(),
		"pointer_to_relocations": sInt(), "pointer_to_line_numbers": sInt(),
		"number_of_relocations": sInt(), "number_of_line_numbers": sInt(),
	}))
	root["overlay"] = sStruct(map[string]*schema{"offset": sInt(), "size": sInt()})
	root["rich_signature"] = sStruct(map[string]*schema{
		"offset": sInt(), "length": sInt(), "key": sInt(), "raw_data": sStr(), "clear_data": sStr(),
		"version_data": sStr(),
		"version":      sFunc(&fnDef{"i", kInt, richFn(true, false)}, &fnDef{"ii", kInt, richFn(true, true)}),
		"toolid":       sFunc(&fnDef{"i", kInt, richFn(false, false)}, &fnDef{"ii", kInt, richFn(false, true)}),
	})
	funcs := sArray(sStruct(map[string]*schema{"name": sStr(), "ordinal": sInt()}))
	imp := sArray(sStruct(map[string]*schema{"library_name": sStr(), "number_of_functions": sInt(), "functions": funcs}))
	root["import_details"] = imp
	root["delay_import_details"] = imp
	root["export_details"] = sArray(sStruct(map[string]*schema{
		"offset": sInt(), "name": sStr(), "forward_name": sStr(), "ordinal": sInt(),
	}))
	root["resources"] = sArray(sStruct(map[string]*schema{
		"rva": sInt(), "offset": sInt(), "length": sInt(), "type": sInt(), "id": sInt(), "language": sInt(),
		"type_string": sStr(), "name_string": sStr(), "language_string": sStr(),
	}))
	// libyara 4.2 (OpenSSL) lists one entry per signer certificate.
	root["signatures"] = sArray(sStruct(map[string]*schema{
		"thumbprint": sStr(), "issuer": sStr(), "subject": sStr(), "version": sInt(),
		"algorithm": sStr(), "algorithm_oid": sStr(), "serial": sStr(), "not_before": sInt(), "not_after": sInt(),
		"valid_on": sFunc(&fnDef{"i", kInt, func(_ *ectx, parent any, a []any) (any, bool) {
			m, _ := parent.(map[string]any)
			nb, ok1 := m["not_before"].(int64)
			na, ok2 := m["not_after"].(int64)
			if !ok1 || !ok2 {
				return nil, false
			}
			t := a[0].(int64)
			return b2i(t >= nb && t <= na), true
		}}),
	}))

	withPE := func(f func(p *peFile, a []any) (any, bool)) func(*ectx, any, []any) (any, bool) {
		return func(_ *ectx, parent any, a []any) (any, bool) {
			m, _ := parent.(map[string]any)
			p, _ := m[peKey].(*peFile)
			if p == nil {
				return nil, false
			}
			return f(p, a)
		}
	}
	root["imphash"] = sFunc(&fnDef{"", kStr, withPE(func(p *peFile, _ []any) (any, bool) {
		if p.imphash == "" {
			return nil, false
		}
		return p.imphash, true
	})})
	root["is_dll"] = sFunc(&fnDef{"", kInt, func(_ *ectx, parent any, _ []any) (any, bool) {
		m, _ := parent.(map[string]any)
		c, ok := m["characteristics"].(int64)
		if !ok {
			return nil, false
		}
		return c & imageFileDLL, true
	}})
	root["is_32bit"] = sFunc(&fnDef{"", kInt, withPE(func(p *peFile, _ []any) (any, bool) { return b2i(!p.is64), true })})
	root["is_64bit"] = sFunc(&fnDef{"", kInt, withPE(func(p *peFile, _ []any) (any, bool) { return b2i(p.is64), true })})
	root["calculate_checksum"] = sFunc(&fnDef{"", kInt, withPE(func(p *peFile, _ []any) (any, bool) { return p.checksum(), true })})
	root["rva_to_offset"] = sFunc(&fnDef{"i", kInt, withPE(func(p *peFile, a []any) (any, bool) {
		o := p.rvaToOffset(uint64(a[0].(int64)))
		if o == -1 {
			return nil, false
		}
		return o, true
	})})
	root["section_index"] = sFunc(
		&fnDef{"s", kInt, sectionIndexName},
		&fnDef{"i", kInt, sectionIndexAddr})
	root["exports"] = sFunc(
		&fnDef{"s", kInt, withPE(func(p *peFile, a []any) (any, bool) {
			return b2i(p.exportIndexName(a[0].(string)) >= 0), true
		})},
		&fnDef{"r", kInt, func(c *ectx, parent any, a []any) (any, bool) {
			m, _ := parent.(map[string]any)
			p, _ := m[peKey].(*peFile)
			if p == nil {
				return nil, false
			}
			return b2i(p.exportIndexRegex(c, a[0].(*re.Prog)) >= 0), true
		}},
		&fnDef{"i", kInt, withPE(func(p *peFile, a []any) (any, bool) {
			return b2i(p.exportIndexOrdinal(a[0].(int64)) >= 0), true
		})})
	root["exports_index"] = sFunc(
		&fnDef{"s", kInt, withPE(func(p *peFile, a []any) (any, bool) { return undefIfNeg(p.exportIndexName(a[0].(string))) })},
		&fnDef{"i", kInt, withPE(func(p *peFile, a []any) (any, bool) { return undefIfNeg(p.exportIndexOrdinal(a[0].(int64))) })},
		&fnDef{"r", kInt, func(c *ectx, parent any, a []any) (any, bool) {
			m, _ := parent.(map[string]any)
			p, _ := m[peKey].(*peFile)
			if p == nil {
				return nil, false
			}
			return undefIfNeg(p.exportIndexRegex(c, a[0].(*re.Prog)))
		}})
	impFn := func(f func(c *ectx, p *peFile, flags int64, a []any) int64, withFlags bool) func(*ectx, any, []any) (any, bool) {
		return func(c *ectx, parent any, a []any) (any, bool) {
			m, _ := parent.(map[string]any)
			p, _ := m[peKey].(*peFile)
			if p == nil {
				return nil, false
			}
			flags := int64(importStandard)
			if withFlags {
				flags, a = a[0].(int64), a[1:]
			}
			return f(c, p, flags, a), true
		}
	}
	byName := func(_ *ectx, p *peFile, flags int64, a []any) int64 {
		return b2i(p.importsFunc(flags, a[0].(string), func(f peFunc) bool { return strings.EqualFold(f.name, a[1].(string)) }))
	}
	byOrd := func(_ *ectx, p *peFile, flags int64, a []any) int64 {
		return b2i(p.importsFunc(flags, a[0].(string), func(f peFunc) bool { return f.hasOrdinal && f.ordinal == a[1].(int64) }))
	}
	byDLL := func(_ *ectx, p *peFile, flags int64, a []any) int64 { return p.importsDLL(flags, a[0].(string)) }
	byRegex := func(c *ectx, p *peFile, flags int64, a []any) int64 {
		return p.importsRegex(c, flags, a[0].(*re.Prog), a[1].(*re.Prog))
	}
	root["imports"] = sFunc(
		&fnDef{"ss", kInt, impFn(byName, false)}, &fnDef{"si", kInt, impFn(byOrd, false)},
		&fnDef{"s", kInt, impFn(byDLL, false)}, &fnDef{"rr", kInt, impFn(byRegex, false)},
		&fnDef{"iss", kInt, impFn(byName, true)}, &fnDef{"isi", kInt, impFn(byOrd, true)},
		&fnDef{"is", kInt, impFn(byDLL, true)}, &fnDef{"irr", kInt, impFn(byRegex, true)})
	root["locale"] = sFunc(&fnDef{"i", kInt, resourceLang(0xFFFF)})
	root["language"] = sFunc(&fnDef{"i", kInt, resourceLang(0xFF)})
	return &module{name: "pe", root: sStruct(root), load: func(c *ectx) map[string]any { return peLoad(c.data) }}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func undefIfNeg(i int64) (any, bool) {
	if i < 0 {
		return nil, false
	}
	return i, true
}

func sectionIndexName(_ *ectx, parent any, a []any) (any, bool) {
	m, _ := parent.(map[string]any)
	if _, ok := m["number_of_sections"]; !ok {
		return nil, false
	}
	secs, _ := m["sections"].([]any)
	name := a[0].(string)
	for i, s := range secs {
		sm, _ := s.(map[string]any)
		n, ok := sm["name"].(string)
		if !ok {
			continue
		}
		// strcmp stops at the first NUL of the section name.
		if j := strings.IndexByte(n, 0); j >= 0 {
			n = n[:j]
		}
		if j := strings.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		if n == name {
			return int64(i), true
		}
	}
	return nil, false
}

func sectionIndexAddr(_ *ectx, parent any, a []any) (any, bool) {
	m, _ := parent.(map[string]any)
	if _, ok := m["number_of_sections"]; !ok {
		return nil, false
	}
	secs, _ := m["sections"].([]any)
	addr := a[0].(int64)
	for i, s := range secs {
		sm, _ := s.(map[string]any)
		off, _ := sm["raw_data_offset"].(int64)
		size, _ := sm["raw_data_size"].(int64)
		if addr >= off && addr < off+size {
			return int64(i), true
		}
	}
	return nil, false
}

func resourceLang(mask uint64) func(*ectx, any, []any) (any, bool) {
	return func(_ *ectx, parent any, a []any) (any, bool) {
		m, _ := parent.(map[string]any)
		n, ok := m["number_of_resources"].(int64)
		if !ok {
			return nil, false
		}
		if _, ok := m[peKey].(*peFile); !ok {
			return nil, false
		}
		res, _ := m["resources"].([]any)
		want := uint64(a[0].(int64))
		for i := 0; i < int(n) && i < len(res); i++ {
			r, _ := res[i].(map[string]any)
			lang, ok := r["language"].(int64)
			if !ok {
				// An undefined language reads as YR_UNDEFINED.
				lang = undefinedInt
			}
			if uint64(lang)&mask == want {
				return int64(1), true
			}
		}
		return int64(0), true
	}
}

// undefinedInt is libyara's YR_UNDEFINED, which leaks into some module
// computations.
const undefinedInt = int64(-0x5566778899AABBCC) // 0xFFFABADAFABADAFF

func (p *peFile) exportIndexName(name string) int64 {
	for i, e := range p.exports {
		if e.hasName && strings.EqualFold(e.name, name) {
			return int64(i)
		}
	}
	return -1
}

func (p *peFile) exportIndexOrdinal(ord int64) int64 {
	n := int64(len(p.exports))
	if ord == 0 || ord > n {
		return -1
	}
	for i, e := range p.exports {
		if e.ordinal == ord {
			return int64(i)
		}
	}
	return -1
}

func (p *peFile) exportIndexRegex(c *ectx, rx *re.Prog) int64 {
	for i, e := range p.exports {
		if e.hasName && c.sc.machine.Search(rx, []byte(cstr(e.name))) {
			return int64(i)
		}
	}
	return -1
}

// cstr cuts a string at its first NUL, as C code sees it.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

func (p *peFile) dlls(flags int64) [][]peDLL {
	var out [][]peDLL
	if flags&importStandard != 0 {
		out = append(out, p.imports)
	}
	if flags&importDelayed != 0 {
		out = append(out, p.delayed)
	}
	return out
}

func (p *peFile) importsFunc(flags int64, dll string, match func(peFunc) bool) bool {
	for _, list := range p.dlls(flags) {
		for _, d := range list {
			if strings.EqualFold(d.name, dll) {
				for _, f := range d.funcs {
					if match(f) {
						return true
					}
				}
			}
		}
	}
	return false
}

func (p *peFile) importsDLL(flags int64, dll string) int64 {
	var n int64
	for _, list := range p.dlls(flags) {
		for _, d := range list {
			if strings.EqualFold(d.name, dll) {
				n += int64(len(d.funcs))
			}
		}
	}
	return n
}

func (p *peFile) importsRegex(c *ectx, flags int64, dllRx, funRx *re.Prog) int64 {
	var n int64
	for _, list := range p.dlls(flags) {
		for _, d := range list {
			if c.sc.machine.SearchEnd(dllRx, []byte(d.name)) > 0 {
				for _, f := range d.funcs {
					if c.sc.machine.SearchEnd(funRx, []byte(f.name)) > 0 {
						n++
					}
				}
			}
		}
	}
	return n
}

func (p *peFile) checksum() int64 {
	csumOff := p.opt() + 64
	var csum uint64
	n := len(p.data)
	for i := 0; i <= n/4; i++ {
		if 4*i == csumOff {
			continue
		}
		if 4*i+4 <= n {
			csum += uint64(binary.LittleEndian.Uint32(p.data[4*i:]))
		} else {
			for j := 0; j < n%4; j++ {
				csum += uint64(p.data[4*i+j]) << (8 * j)
			}
		}
		if csum > 0xffffffff {
			csum = (csum & 0xffffffff) + (csum >> 32)
		}
	}
	csum = (csum & 0xffff) + (csum >> 16)
	csum += csum >> 16
	csum &= 0xffff
	csum += uint64(n)
	return int64(csum)
}

func richFn(byVersion, both bool) func(*ectx, any, []any) (any, bool) {
	return func(_ *ectx, parent any, a []any) (any, bool) {
		m, _ := parent.(map[string]any)
		if _, ok := m["length"].(int64); !ok {
			return nil, false
		}
		clear, ok := m["clear_data"].(string)
		if !ok {
			return nil, false
		}
		version, toolid := undefinedInt, undefinedInt
		switch {
		case byVersion && both:
			version, toolid = a[0].(int64), a[1].(int64)
		case byVersion:
			version = a[0].(int64)
		case both:
			toolid, version = a[0].(int64), a[1].(int64)
		default:
			toolid = a[0].(int64)
		}
		var total int64
		b := []byte(clear)
		for off := 16; off+8 <= len(b); off += 8 {
			idv := binary.LittleEndian.Uint32(b[off:])
			times := binary.LittleEndian.Uint32(b[off+4:])
			mv := version == int64(idv&0xFFFF)
			mt := toolid == int64(idv>>16)
			if (version == undefinedInt || mv) && (toolid == undefinedInt || mt) {
				total += int64(times)
			}
		}
		return total, true
	}
}

// entryPointOffset is the deprecated "entrypoint" keyword, as libyara's
// exefiles.c computes it: the file offset of a PE's entry point (its own
// simpler mapping, and no ARM64), or of a little-endian ELF's; undefined
// for anything else.
func entryPointOffset(data []byte) (int64, bool) {
	if len(data) >= 4 && string(data[:4]) == "\x7fELF" {
		return elfEntryPoint(data)
	}
	h := peHeader(data)
	if h < 0 || binary.LittleEndian.Uint16(data[h+4:]) == 0xaa64 {
		return 0, false
	}
	p := &peFile{data: data, hdr: h}
	n, _ := p.u16(h + 6)
	o, _ := p.u16(h + 20)
	p.nsect, p.optSize = int(n), int(o)
	ep, _ := p.u32(p.opt() + 16)
	var secRVA, secOff uint32
	s := p.firstSection()
	for i := 0; i < min(p.nsect, maxPESections); i++ {
		if s-h+sizeofSection >= len(data)-h {
			return 0, true
		}
		va, _ := p.u32(s + 12)
		ptr, _ := p.u32(s + 20)
		if ep >= va && secRVA <= va {
			secRVA, secOff = va, ptr
		}
		s += sizeofSection
	}
	return int64(secOff) + int64(ep-secRVA), true
}

// elfEntryPoint maps e_entry to a file offset through the program headers
// (executables) or the sections (anything else), 0 when nothing maps it.
func elfEntryPoint(d []byte) (int64, bool) {
	if len(d) < 16 || d[5] != 1 { // little-endian only
		return 0, false
	}
	is64 := d[4] == 2
	if !is64 && d[4] != 1 {
		return 0, false
	}
	u16 := func(o uint64) uint64 {
		if o+2 > uint64(len(d)) {
			return 0
		}
		return uint64(binary.LittleEndian.Uint16(d[o:]))
	}
	u32 := func(o uint64) uint64 {
		if o+4 > uint64(len(d)) {
			return 0
		}
		return uint64(binary.LittleEndian.Uint32(d[o:]))
	}
	u64 := func(o uint64) uint64 {
		if o+8 > uint64(len(d)) {
			return 0
		}
		return binary.LittleEndian.Uint64(d[o:])
	}
	word := u32
	hdr := uint64(52)
	if is64 {
		word, hdr = u64, 64
	}
	if uint64(len(d)) < hdr {
		return 0, false
	}
	var entry, phoff, shoff uint64
	var phnum, shnum uint64
	typ := u16(16)
	if is64 {
		entry, phoff, shoff = u64(24), u64(32), u64(40)
		phnum, shnum = u16(56), u16(60)
	} else {
		entry, phoff, shoff = u32(24), u32(28), u32(32)
		phnum, shnum = u16(44), u16(48)
	}
	if typ == 2 { // ET_EXEC: program headers
		size := uint64(32)
		if is64 {
			size = 56
		}
		if phoff == 0 || phnum == 0 || phoff+size*phnum > uint64(len(d)) {
			return 0, true
		}
		for i := uint64(0); i < phnum; i++ {
			ph := phoff + i*size
			var off, vaddr, memsz uint64
			if is64 {
				off, vaddr, memsz = u64(ph+8), u64(ph+16), u64(ph+40)
			} else {
				off, vaddr, memsz = u32(ph+4), u32(ph+8), u32(ph+20)
			}
			if entry >= vaddr && entry < vaddr+memsz {
				return int64(off + entry - vaddr), true
			}
		}
		return 0, true
	}
	size := uint64(40)
	if is64 {
		size = 64
	}
	if shoff == 0 || shnum == 0 || shoff+size*shnum > uint64(len(d)) {
		return 0, true
	}
	for i := uint64(0); i < shnum; i++ {
		sh := shoff + i*size
		stype := u32(sh + 4)
		var addr, off, sz uint64
		if is64 {
			addr, off, sz = u64(sh+16), u64(sh+24), u64(sh+32)
		} else {
			addr, off, sz = u32(sh+12), u32(sh+16), u32(sh+20)
		}
		if stype != 0 && stype != 8 && entry >= addr && entry < addr+sz {
			return int64(off + entry - addr), true
		}
	}
	_ = word
	return 0, true
}

// peLoad builds the module root for one scan.
func peLoad(data []byte) map[string]any {
	m := map[string]any{"is_pe": int64(0)}
	p := newPE(data)
	if p == nil {
		return m
	}
	defer func() {
		// A malformed file must not take the scan down; what was parsed
		// so far stays.
		_ = recover()
	}()
	m[peKey] = p
	p.parseHeader(m)
	p.parseRich(m)
	p.parseDebug(m)
	p.parseSignatures(m)
	p.imports = p.parseImports(m)
	p.delayed = p.parseDelayed(m)
	p.parseExports(m)
	p.imphash = p.computeImphash()
	return m
}

func (p *peFile) parseHeader(m map[string]any) {
	h := p.hdr
	u16 := func(off int) int64 { v, _ := p.u16(off); return int64(v) }
	u32 := func(off int) int64 { v, _ := p.u32(off); return int64(v) }
	o := p.opt()
	m["is_pe"] = int64(1)
	m["machine"] = u16(h + 4)
	m["number_of_sections"] = u16(h + 6)
	m["timestamp"] = u32(h + 8)
	m["pointer_to_symbol_table"] = u32(h + 12)
	m["number_of_symbols"] = u32(h + 16)
	m["size_of_optional_header"] = u16(h + 20)
	m["characteristics"] = u16(h + 22)
	ep := uint64(u32(o + 16))
	m["entry_point"] = p.rvaToOffset(ep)
	m["entry_point_raw"] = int64(ep)
	m["image_base"] = p.optField(28, 24, true)
	m["number_of_rva_and_sizes"] = p.optField(92, 108, false)
	m["opthdr_magic"] = u16(o)
	m["linker_version"] = map[string]any{"major": int64(p.data[o+2]), "minor": int64(p.data[o+3])}
	m["size_of_code"] = u32(o + 4)
	m["size_of_initialized_data"] = u32(o + 8)
	m["size_of_uninitialized_data"] = u32(o + 12)
	m["base_of_code"] = u32(o + 20)
	if !p.is64 {
		m["base_of_data"] = u32(o + 24)
	}
	m["section_alignment"] = u32(o + 32)
	m["file_alignment"] = u32(o + 36)
	m["os_version"] = map[string]any{"major": u16(o + 40), "minor": u16(o + 42)}
	m["image_version"] = map[string]any{"major": u16(o + 44), "minor": u16(o + 46)}
	m["subsystem_version"] = map[string]any{"major": u16(o + 48), "minor": u16(o + 50)}
	m["win32_version_value"] = u32(o + 52)
	m["size_of_image"] = u32(o + 56)
	m["size_of_headers"] = u32(o + 60)
	m["checksum"] = u32(o + 64)
	m["subsystem"] = u16(o + 68)
	m["dll_characteristics"] = u16(o + 70)
	m["size_of_stack_reserve"] = p.optField(72, 72, true)
	m["size_of_stack_commit"] = p.optField(76, 80, true)
	m["size_of_heap_reserve"] = p.optField(80, 88, true)
	m["size_of_heap_commit"] = p.optField(84, 96, true)
	m["loader_flags"] = p.optField(88, 104, false)

	ddcount := int(int32(p.optField(92, 108, false)))
	ddcount = min(ddcount, 16)
	dd := o + 96
	if p.is64 {
		dd = o + 112
	}
	var dirs []any
	for i := 0; i < ddcount; i++ {
		if !p.fits(dd, 8) {
			break
		}
		dirs = append(dirs, map[string]any{"virtual_address": u32(dd), "size": u32(dd + 4)})
		dd += 8
	}
	m["data_directories"] = dirs

	p.parseResources(m)

	var secs []any
	s := p.firstSection()
	var hiOff, hiSize uint64
	for i := 0; i < min(p.nsect, maxPESections); i++ {
		if !p.fits(s, sizeofSection) {
			break
		}
		name := p.data[s : s+8]
		n := 8
		for n > 0 && name[n-1] == 0 {
			n--
		}
		raw := uint64(u32(s + 16))
		ptr := uint64(u32(s + 20))
		sec := map[string]any{
			"name":                    string(name[:n]),
			"characteristics":         u32(s + 36),
			"raw_data_size":           int64(raw),
			"raw_data_offset":         int64(ptr),
			"virtual_address":         u32(s + 12),
			"virtual_size":            u32(s + 8),
			"pointer_to_relocations":  u32(s + 24),
			"pointer_to_line_numbers": u32(s + 28),
			"number_of_relocations":   u16(s + 32),
			"number_of_line_numbers":  u16(s + 34),
		}
		if full, ok := p.sectionFullName(name[:n]); ok {
			sec["full_name"] = full
		}
		secs = append(secs, sec)
		if end := ptr + raw; end > hiOff+hiSize {
			hiOff, hiSize = ptr, raw
		}
		s += sizeofSection
	}
	m["sections"] = secs
	last := hiOff + hiSize
	if last != 0 && uint64(len(p.data)) > last {
		m["overlay"] = map[string]any{"offset": int64(last), "size": int64(uint64(len(p.data)) - last)}
	} else {
		m["overlay"] = map[string]any{"offset": int64(0), "size": int64(0)}
	}
}

// sectionFullName resolves "/123" names through the COFF string table.
func (p *peFile) sectionFullName(name []byte) (string, bool) {
	symOff, _ := p.u32(p.hdr + 12)
	nsym, _ := p.u32(p.hdr + 16)
	if symOff == 0 || len(name) == 0 || name[0] != '/' {
		return string(name), true
	}
	idx := uint64(0)
	for i := 1; i < 8 && i < len(name) && name[i] >= '0' && name[i] <= '9'; i++ {
		idx = idx*10 + uint64(name[i]-'0')
	}
	off := uint64(symOff) + uint64(nsym)*18 + idx
	for l := uint64(0); off+l < uint64(len(p.data)); l++ {
		c := p.data[off+l]
		if c == 0 {
			return string(p.data[off : off+l]), true
		}
		if c < 32 || c > 126 {
			return "", false
		}
	}
	return "", false
}

func (p *peFile) parseRich(m map[string]any) {
	d := p.data
	if len(d) < 64 {
		return
	}
	lfanew := binary.LittleEndian.Uint32(d[0x3c:])
	if uint64(lfanew) > uint64(len(d))+4 || lfanew < 4 {
		return
	}
	rich := -1
	var key uint32
	i := int(lfanew) - 4
	for ; i >= 64; i -= 4 {
		if i+8 <= len(d) && binary.LittleEndian.Uint32(d[i:]) == 0x68636952 { // "Rich"
			key = binary.LittleEndian.Uint32(d[i+4:])
			rich = i
			i -= 4
			break
		}
	}
	if key == 0 {
		return
	}
	start := -1
	for ; i >= 64; i -= 4 {
		if binary.LittleEndian.Uint32(d[i:])^key == 0x536e6144 { // "DanS"
			start = i
			break
		}
	}
	if start < 0 || start+16 > len(d) {
		return
	}
	k1 := binary.LittleEndian.Uint32(d[start+4:])
	k2 := binary.LittleEndian.Uint32(d[start+8:])
	k3 := binary.LittleEndian.Uint32(d[start+12:])
	if k1 != k2 || k2 != k3 || binary.LittleEndian.Uint32(d[start:])^k1 != 0x536e6144 {
		return
	}
	n := rich - start
	raw := d[start:rich]
	clear := make([]byte, n)
	for j := 0; j+4 <= n; j += 4 {
		binary.LittleEndian.PutUint32(clear[j:], binary.LittleEndian.Uint32(raw[j:])^k1)
	}
	p.richText = clear
	m["rich_signature"] = map[string]any{
		"offset": int64(start), "length": int64(n), "key": int64(k1),
		"raw_data": string(raw), "clear_data": string(clear),
	}
}

func (p *peFile) parseDebug(m map[string]any) {
	va, size, ok := p.dirEntry(dirDebug)
	if !ok || size == 0 || size%28 != 0 || va == 0 {
		return
	}
	off := p.rvaToOffset(uint64(va))
	if off < 0 {
		return
	}
	for i := 0; i < int(size/28); i++ {
		e := int(off) + i*28
		if !p.fits(e, 28) {
			break
		}
		if t, _ := p.u32(e + 12); t != 2 { // CODEVIEW
			continue
		}
		var cv int64
		if ard, _ := p.u32(e + 20); ard != 0 {
			cv = p.rvaToOffset(uint64(ard))
		}
		if prd, _ := p.u32(e + 24); cv <= 0 && prd != 0 {
			cv = int64(prd)
		}
		if cv <= 0 || !p.fits(int(cv), 8) {
			continue
		}
		sig, _ := p.u32(int(cv))
		var path int
		switch sig {
		case 0x3031424e: // NB10
			if p.fits(int(cv), 20) {
				path = int(cv) + 16
			}
		case 0x53445352: // RSDS
			if p.fits(int(cv), 28) {
				path = int(cv) + 24
			}
		case 0x434f544d: // MTOC
			if p.fits(int(cv), 24) {
				path = int(cv) + 20
			}
		}
		if path == 0 {
			continue
		}
		b := p.data[path:]
		if len(b) > 1024 {
			b = b[:1024]
		}
		n := bytes.IndexByte(b, 0)
		if n < 0 {
			n = len(b)
		}
		if n > 0 && n < 1024 {
			m["pdb_path"] = string(b[:n])
			break
		}
	}
}

// --- resources and version information ---

func (p *peFile) parseResources(m map[string]any) {
	va, _, ok := p.dirEntry(dirResource)
	if !ok || va == 0 {
		m["number_of_resources"] = int64(0)
		m["number_of_version_infos"] = int64(0)
		return
	}
	off := p.rvaToOffset(uint64(va))
	var res, vlist []any
	vinfo := map[string]any{}
	if off >= 0 && p.fits(int(off), 16) {
		ts, _ := p.u32(int(off) + 4)
		maj, _ := p.u16(int(off) + 8)
		min, _ := p.u16(int(off) + 10)
		m["resource_timestamp"] = int64(ts)
		m["resource_version"] = map[string]any{"major": int64(maj), "minor": int64(min)}
		w := &resWalk{p: p, base: int(off), out: &res, vinfo: vinfo, vlist: &vlist}
		w.walk(int(off), 0, -1, -1, -1, nil, nil, nil)
	}
	m["resources"] = res
	m["number_of_resources"] = int64(len(res))
	m["version_info"] = vinfo
	m["version_info_list"] = vlist
	m["number_of_version_infos"] = int64(len(vlist))
}

type resWalk struct {
	p     *peFile
	base  int
	out   *[]any
	vinfo map[string]any
	vlist *[]any
	steps int
}

// nameString returns the UTF-16 bytes of a named entry, or nil.
func (w *resWalk) nameString(name uint32) []byte {
	if name&0x80000000 == 0 {
		return nil
	}
	off := w.base + int(name&0x7FFFFFFF)
	if !w.p.fits(off, 2) {
		return nil
	}
	n, _ := w.p.u16(off)
	if !w.p.fits(off, 2+int(n)*2) {
		return nil
	}
	return w.p.data[off+2 : off+2+int(n)*2]
}

// walk follows libyara's _pe_iterate_resources; it reports whether the
// iteration was aborted.
func (w *resWalk) walk(dir, level int, typ, id, lang int64, ts, ns, ls []byte) bool {
	p := w.p
	w.steps++
	if w.steps > 1<<20 {
		return true
	}
	if !p.fits(dir, 16) {
		return true
	}
	chars, _ := p.u32(dir)
	named, _ := p.u16(dir + 12)
	ided, _ := p.u16(dir + 14)
	if chars != 0 || named > 32768 || ided > 32768 {
		return false
	}
	e := dir + 16
	for i := 0; i < int(named)+int(ided); i++ {
		if !p.fits(e, 8) {
			return true
		}
		name, _ := p.u32(e)
		data, _ := p.u32(e + 4)
		switch level {
		case 0:
			typ, ts = int64(int32(name)), w.nameString(name)
		case 1:
			id, ns = int64(int32(name)), w.nameString(name)
		case 2:
			lang, ls = int64(int32(name)), w.nameString(name)
		}
		target := w.base + int(data&0x7FFFFFFF)
		aborted := false
		if data&0x80000000 != 0 && level < 2 {
			if p.fits(target, 16) {
				aborted = w.walk(target, level+1, typ, id, lang, ts, ns, ls)
			} else {
				aborted = true
			}
		} else if p.fits(target, 16) {
			w.collect(target, typ, id, lang, ts, ns, ls)
		} else {
			aborted = true
		}
		if aborted {
			return true
		}
		e += 8
	}
	return false
}

func (w *resWalk) collect(entry int, typ, id, lang int64, ts, ns, ls []byte) {
	if len(*w.out) > maxResources {
		return
	}
	p := w.p
	rva, _ := p.u32(entry)
	size, _ := p.u32(entry + 4)
	r := map[string]any{"rva": int64(rva), "length": int64(size)}
	if off := p.rvaToOffset(uint64(rva)); off >= 0 {
		r["offset"] = off
	} else {
		r["offset"] = undefinedInt
		delete(r, "offset")
	}
	set := func(s []byte, v int64, sk, ik string) {
		if s != nil {
			r[sk] = string(s)
		} else {
			r[ik] = v
		}
	}
	set(ts, typ, "type_string", "type")
	set(ns, id, "name_string", "id")
	set(ls, lang, "language_string", "language")
	if typ == resourceVersion {
		w.versionInfo(uint64(rva))
	}
	*w.out = append(*w.out, r)
}

// strcmpW compares a UTF-16 string at off with an ASCII one, as libyara's
// strcmp_w.
func (p *peFile) strcmpW(off int, s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if !p.fits(off+2*i, 2) || p.data[off+2*i] != s[i] || p.data[off+2*i+1] != 0 {
			return false
		}
	}
	return p.fits(off+2*i, 2) && p.data[off+2*i] == 0 && p.data[off+2*i+1] == 0
}

// wideFits is libyara's wide_string_fits_in_pe: a terminating 0x0000 lies
// inside the data.
func (p *peFile) wideFits(off int) bool {
	for ; p.fits(off, 2); off += 2 {
		if p.data[off] == 0 && p.data[off+1] == 0 {
			return true
		}
	}
	return false
}

// strnlenW counts UTF-16 units up to the terminating 0x0000.
func (p *peFile) strnlenW(off int) int {
	n := 0
	for p.fits(off, 2) && (p.data[off] != 0 || p.data[off+1] != 0) {
		off += 2
		n++
	}
	return n
}

// strlcpyW keeps the low byte of each unit, stopping at a zero low byte,
// for at most max-1 characters (libyara's strlcpy_w).
func (p *peFile) strlcpyW(off, max int) string {
	var b []byte
	for len(b) < max-1 && p.fits(off, 1) && p.data[off] != 0 {
		b = append(b, p.data[off])
		off += 2
	}
	return string(b)
}

func align4(off, add int) int { return off + ((add + 3) &^ 3) }

func (w *resWalk) versionInfo(rva uint64) {
	p := w.p
	vo := p.rvaToOffset(rva)
	if vo < 0 {
		return
	}
	vi := int(vo)
	if !p.fits(vi, 6) || !p.fits(vi+6, 32) || !p.strcmpW(vi+6, "VS_VERSION_INFO") {
		return
	}
	length := func(off int) int { v, _ := p.u16(off); return int(v) }
	vi = align4(vi, 6+86)
	for p.fits(vi+6, 24) && p.strcmpW(vi+6, "VarFileInfo") && length(vi) != 0 {
		vi = align4(vi, length(vi))
	}
	for guard := 0; p.fits(vi+6, 30) && p.strcmpW(vi+6, "StringFileInfo") && length(vi) != 0 && guard < 1<<16; guard++ {
		table := align4(vi, 6+30)
		vi = align4(vi, length(vi))
		for p.fits(table, 6) && p.wideFits(table+6) && length(table) != 0 && table < vi {
			str := align4(table, 6+2*(p.strnlenW(table+6)+1))
			table = align4(table, length(table))
			for p.fits(str, 6) && p.wideFits(str+6) && length(str) != 0 && str < table {
				val := align4(str, 6+2*(p.strnlenW(str+6)+1))
				if p.wideFits(val) {
					key := p.strlcpyW(str+6, 64)
					value := p.strlcpyW(val, 256)
					if vl, _ := p.u16(str + 2); vl == 0 {
						value = ""
					}
					w.vinfo[key] = value
					*w.vlist = append(*w.vlist, map[string]any{"key": key, "value": value})
				}
				str = align4(str, length(str))
			}
		}
	}
}

// --- imports and exports ---

func validFunctionName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._?@$()<>", c) >= 0) {
			return false
		}
	}
	return true
}

func validDLLName(b []byte) (string, bool) {
	n := bytes.IndexByte(b, 0)
	if n <= 0 {
		return "", false
	}
	for _, c := range b[:n] {
		if c < ' ' || strings.IndexByte("\"*<>?|", c) >= 0 {
			return "", false
		}
	}
	return string(b[:n]), true
}

func (p *peFile) parseImports(m map[string]any) []peDLL {
	m["number_of_imports"] = int64(0)
	m["number_of_imported_functions"] = int64(0)
	va, _, ok := p.dirEntry(dirImport)
	if !ok || va == 0 {
		return nil
	}
	off := p.rvaToOffset(uint64(va))
	if off < 0 {
		return nil
	}
	var dlls []peDLL
	nfuncs := 0
	d := int(off)
	for parsed := 0; p.fits(d, 20) && parsed < maxPEImports; d += 20 {
		nameRVA, _ := p.u32(d + 12)
		if nameRVA == 0 {
			break
		}
		parsed++
		no := p.rvaToOffset(uint64(nameRVA))
		if no < 0 {
			continue
		}
		name, ok := validDLLName(p.data[no:])
		if !ok {
			continue
		}
		funcs := p.importFuncs(d, name, &nfuncs)
		if len(funcs) > 0 {
			dlls = append(dlls, peDLL{name: name, funcs: funcs})
		}
	}
	m["number_of_imports"] = int64(len(dlls))
	m["number_of_imported_functions"] = int64(nfuncs)
	m["import_details"] = importDetails(dlls)
	return dlls
}

// importDetails lists the imports as libyara 4.2's pe_set_imports does,
// bug included: the function counter is not reset per DLL, so a DLL's
// functions are numbered on from the previous DLL's (the lower indexes
// stay undefined) and number_of_functions is the running total.
func importDetails(dlls []peDLL) []any {
	var out []any
	n := 0
	for _, d := range dlls {
		fs := make([]any, n, n+len(d.funcs))
		for _, f := range d.funcs {
			fm := map[string]any{"name": f.name}
			if f.hasOrdinal {
				fm["ordinal"] = f.ordinal
			}
			fs = append(fs, fm)
			n++
		}
		out = append(out, map[string]any{"library_name": d.name, "number_of_functions": int64(n), "functions": fs})
	}
	return out
}

func (p *peFile) importFuncs(desc int, dll string, nfuncs *int) []peFunc {
	oft, _ := p.u32(desc)
	ft, _ := p.u32(desc + 16)
	off := p.rvaToOffset(uint64(oft))
	if off <= 0 {
		off = p.rvaToOffset(uint64(ft))
	}
	if off < 0 {
		return nil
	}
	var out []peFunc
	size := 4
	if p.is64 {
		size = 8
	}
	t := int(off)
	parsed := 0
	for idx := 0; p.fits(t, size); idx, t = idx+1, t+size {
		var v uint64
		var ordFlag bool
		if p.is64 {
			v, _ = p.u64(t)
			ordFlag = v&(1<<63) != 0
		} else {
			x, _ := p.u32(t)
			v = uint64(x)
			ordFlag = x&(1<<31) != 0
		}
		if v == 0 {
			break
		}
		if p.is64 && parsed >= maxPEImports || !p.is64 && *nfuncs >= maxPEImports {
			break
		}
		parsed++
		f := peFunc{rva: int64(uint64(ft) + uint64(size*idx))}
		named := false
		if !ordFlag {
			no := p.rvaToOffset(v)
			if no >= 0 && p.fits(int(no), 4) {
				f.name = p.cstring(no+2, 512)
				named = true
			}
		} else {
			f.ordinal = int64(v & 0xFFFF)
			f.hasOrdinal = true
			f.name = ordinalName(dll, uint16(v))
			named = true
		}
		if f.name != "" && !validFunctionName(f.name) || named && f.name == "" && !f.hasOrdinal {
			continue
		}
		if named || f.hasOrdinal {
			out = append(out, f)
			*nfuncs++
		}
	}
	return out
}

func (p *peFile) parseDelayed(m map[string]any) []peDLL {
	m["number_of_delayed_imports"] = int64(0)
	m["number_of_delayed_imported_functions"] = int64(0)
	va, _, ok := p.dirEntry(dirDelayImport)
	if !ok || va == 0 {
		return nil
	}
	off := p.rvaToOffset(uint64(va))
	if off < 0 {
		return nil
	}
	imageBase := uint64(p.optField(28, 24, true))
	sizeOfImage := uint64(p.optField(56, 56, false))
	ptr := uint64(4)
	ordMask := uint64(1) << 31
	if p.is64 {
		ptr, ordMask = 8, 1<<63
	}
	norm := func(v uint64) uint64 {
		if v != 0 && v > imageBase {
			return v - imageBase
		}
		return v
	}
	read := func(rva uint64) (uint64, bool) {
		o := p.rvaToOffset(rva)
		if o < 0 || !p.fits(int(o), int(ptr)) {
			return 0, false
		}
		if p.is64 {
			v, _ := p.u64(int(o))
			return v, true
		}
		v, _ := p.u32(int(o))
		return uint64(v), true
	}
	var dlls []peDLL
	nfuncs := 0
	for d := int(off); p.fits(d, 32); d += 32 {
		var f [8]uint32
		zero := true
		for i := range f {
			f[i], _ = p.u32(d + 4*i)
			if f[i] != 0 {
				zero = false
			}
		}
		if zero {
			break
		}
		attrs := f[0]
		nameRVA, iat, int_ := uint64(f[1]), uint64(f[3]), uint64(f[4])
		if attrs > 1 {
			break
		}
		if !p.is64 && attrs == 0 {
			nameRVA, iat, int_ = norm(nameRVA), norm(iat), norm(int_)
		}
		if int_ >= sizeOfImage || iat >= sizeOfImage || nameRVA < 64 || int_ < 64 {
			break
		}
		no := p.rvaToOffset(nameRVA)
		if no < 0 {
			continue
		}
		name, ok := validDLLName(p.data[no:])
		if !ok {
			continue
		}
		dll := peDLL{name: name}
		nameRVA2, funcRVA := int_, iat
		for guard := 0; guard < maxPEImports; guard++ {
			na, ok1 := read(nameRVA2)
			fa, ok2 := read(funcRVA)
			if !ok1 || !ok2 || na == 0 || fa == 0 {
				break
			}
			fn := peFunc{rva: int64(funcRVA)}
			if na&ordMask == 0 {
				if attrs == 0 {
					na = norm(na)
				}
				o := p.rvaToOffset(na + 2)
				fn.name = p.cstring(o, 512)
			} else {
				fn.ordinal, fn.hasOrdinal = int64(na&0xFFFF), true
				fn.name = ordinalName(name, uint16(na))
			}
			dll.funcs = append(dll.funcs, fn)
			nfuncs++
			nameRVA2 += ptr
			funcRVA += ptr
		}
		dlls = append(dlls, dll)
	}
	m["number_of_delayed_imports"] = int64(len(dlls))
	m["number_of_delayed_imported_functions"] = int64(nfuncs)
	// libyara 4.2 declares delay_import_details but never fills it.
	return dlls
}

func (p *peFile) parseExports(m map[string]any) {
	m["number_of_exports"] = int64(0)
	va, size, ok := p.dirEntry(dirExport)
	if !ok || va == 0 {
		return
	}
	off := p.rvaToOffset(uint64(va))
	if off < 0 {
		return
	}
	start, esize := off, int64(size)
	if !p.fits(int(off), 40) {
		return
	}
	e := int(off)
	u32 := func(o int) uint32 { v, _ := p.u32(o); return v }
	nexp := min(u32(e+20), maxPEExports)
	base := u32(e + 16)
	m["export_timestamp"] = int64(u32(e + 4))
	// libyara reuses the name's offset (possibly -1) in the next check.
	no := p.rvaToOffset(uint64(u32(e + 12)))
	if no > 0 {
		m["dll_name"] = p.cstring(no, len(p.data))
	}
	if uint64(nexp)*4 > uint64(int64(len(p.data))-no) {
		return
	}
	var names int64 = -1
	if u32(e+24) > 0 {
		names = p.rvaToOffset(uint64(u32(e + 32)))
		if names < 0 || uint64(u32(e+24))*4 > uint64(int64(len(p.data))-names) {
			return
		}
	}
	ords := p.rvaToOffset(uint64(u32(e + 36)))
	if ords < 0 || !p.fits(int(ords), 2*int(nexp)) {
		return
	}
	addrs := p.rvaToOffset(uint64(u32(e + 28)))
	if addrs < 0 || !p.fits(int(addrs), 4*int(nexp)) {
		return
	}
	nnames := min(u32(e+24), nexp)
	var details []any
	for i := uint32(0); i < nexp; i++ {
		rva := u32(int(addrs) + 4*int(i))
		d := map[string]any{"ordinal": int64(base) + int64(i)}
		exp := peExport{ordinal: int64(base) + int64(i)}
		fo := p.rvaToOffset(uint64(rva))
		if fo > start && fo < start+esize {
			d["forward_name"] = p.cstring(fo, maxExportName)
		} else if fo >= 0 {
			d["offset"] = fo
		}
		if names >= 0 {
			for j := uint32(0); j < nexp; j++ {
				ov, _ := p.u16(int(ords) + 2*int(j))
				if uint32(ov) == i && j < nnames {
					if no := p.rvaToOffset(uint64(u32(int(names) + 4*int(j)))); no > 0 {
						exp.name, exp.hasName = p.cstring(no, maxExportName), true
						d["name"] = exp.name
					}
					break
				}
			}
		}
		details = append(details, d)
		p.exports = append(p.exports, exp)
	}
	m["export_details"] = details
	m["number_of_exports"] = int64(len(details))
}

// computeImphash is Mandiant's import hash as libyara computes it: for
// each imported function "dll.function" in lower case, the DLL name cut
// at its first dot when that starts ".dll", ".ocx" or ".sys", joined with
// commas, MD5 in hex. The hash is left undefined when a function is
// imported by an ordinal our table does not name, rather than risk a
// wrong hash.
func (p *peFile) computeImphash() string {
	h := md5.New()
	first := true
	for _, d := range p.imports {
		dll := d.name
		if i := strings.IndexByte(dll, '.'); i >= 0 {
			ext := strings.ToLower(dll[i:])
			if strings.HasPrefix(ext, ".ocx") || strings.HasPrefix(ext, ".sys") || strings.HasPrefix(ext, ".dll") {
				dll = dll[:i]
			}
		}
		for _, f := range d.funcs {
			if f.hasOrdinal && ordinalUnknown(d.name, uint16(f.ordinal)) {
				return ""
			}
			s := dll + "." + cstr(f.name)
			if !first {
				s = "," + s
			}
			first = false
			h.Write([]byte(asciiLower(s)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
