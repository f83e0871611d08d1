package heuristic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"unicode/utf16"
)

// Minidump bounds: real dumps have a dozen streams and a few hundred
// modules; module names are paths.
const (
	mdmpMaxStreams = 512
	mdmpMaxModules = 8192
	mdmpMaxName    = 2048 // bytes of UTF-16
	mdmpModuleSize = 108
	mdmpModuleList = 4
)

var mdmpMagic = []byte("MDMP")

// minidump is what the sniffer reads from a MINIDUMP file: the module
// names of its module list (the first is the dumped process's image).
type minidump struct {
	Modules []string
}

// readMinidump parses the header, the stream directory and the module
// list of a minidump through r (size bytes). It reads only those
// structures, each bounded, never the memory.
func readMinidump(r io.ReaderAt, size int64) (*minidump, error) {
	var hdr [32]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, err
	}
	if !bytes.Equal(hdr[:4], mdmpMagic) {
		return nil, errors.New("not a minidump")
	}
	le := binary.LittleEndian
	n := le.Uint32(hdr[8:])
	dirRVA := int64(le.Uint32(hdr[12:]))
	if n == 0 || n > mdmpMaxStreams {
		return nil, errors.New("minidump: implausible stream count")
	}
	if dirRVA < 32 || dirRVA+int64(n)*12 > size {
		return nil, errors.New("minidump: stream directory outside the file")
	}
	dir := make([]byte, int(n)*12)
	if _, err := r.ReadAt(dir, dirRVA); err != nil {
		return nil, err
	}
	for i := 0; i < int(n); i++ {
		e := dir[i*12:]
		if le.Uint32(e) != mdmpModuleList {
			continue
		}
		return readModules(r, size, int64(le.Uint32(e[4:])), int64(le.Uint32(e[8:])))
	}
	return nil, errors.New("minidump: no module list")
}

func readModules(r io.ReaderAt, size, dataSize, rva int64) (*minidump, error) {
	le := binary.LittleEndian
	if rva <= 0 || rva+4 > size {
		return nil, errors.New("minidump: module list outside the file")
	}
	var cnt [4]byte
	if _, err := r.ReadAt(cnt[:], rva); err != nil {
		return nil, err
	}
	n := int64(le.Uint32(cnt[:]))
	if n > mdmpMaxModules || rva+4+n*mdmpModuleSize > size || (dataSize > 0 && 4+n*mdmpModuleSize > dataSize) {
		return nil, errors.New("minidump: implausible module list")
	}
	list := make([]byte, n*mdmpModuleSize)
	if _, err := r.ReadAt(list, rva+4); err != nil {
		return nil, err
	}
	md := &minidump{}
	for i := int64(0); i < n; i++ {
		nameRVA := int64(le.Uint32(list[i*mdmpModuleSize+20:])) // after BaseOfImage, SizeOfImage, CheckSum, TimeDateStamp
		name, err := readMinidumpString(r, size, nameRVA)
		if err != nil {
			return md, err
		}
		md.Modules = append(md.Modules, name)
	}
	return md, nil
}

// readMinidumpString reads a MINIDUMP_STRING (length in bytes, UTF-16).
func readMinidumpString(r io.ReaderAt, size, rva int64) (string, error) {
	if rva <= 0 || rva+4 > size {
		return "", errors.New("minidump: module name outside the file")
	}
	var l [4]byte
	if _, err := r.ReadAt(l[:], rva); err != nil {
		return "", err
	}
	n := int64(binary.LittleEndian.Uint32(l[:]))
	if n > mdmpMaxName || n%2 != 0 || rva+4+n > size {
		return "", errors.New("minidump: implausible module name")
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, rva+4); err != nil {
		return "", err
	}
	u := make([]uint16, n/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// baseName returns the file name of a Windows path, lower case.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}
