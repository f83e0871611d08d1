// Package filegen builds small synthetic binary files for the file
// detectors' samples, their tests and the sample trees: minidumps, PST and
// DER heads with a page inside, PE images carrying strings, Windows Error
// Reports, archive heads. Nothing here is real memory, mail or malware;
// every file says so in its own bytes (Marker).
package filegen

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// Marker is written into every binary this package makes.
const Marker = "exhunt synthetic sample: not a real file"

// Minidump stream types (MINIDUMP_STREAM_TYPE).
const (
	ModuleListStream = 4
	CommentStreamA   = 10
)

// Minidump builds a MINIDUMP file whose module list names modules (the
// first one is the process image, as in a real dump), plus a comment
// stream with Marker. There is no memory in it.
func Minidump(modules ...string) []byte {
	const hdr = 32
	const dirEntry = 12
	const module = 108
	nStreams := 2
	dirRVA := hdr
	listRVA := dirRVA + nStreams*dirEntry
	listSize := 4 + len(modules)*module
	var names bytes.Buffer
	nameRVA := make([]int, len(modules))
	base := listRVA + listSize
	for i, m := range modules {
		nameRVA[i] = base + names.Len()
		u := utf16.Encode([]rune(m))
		binary.Write(&names, binary.LittleEndian, uint32(2*len(u)))
		binary.Write(&names, binary.LittleEndian, u)
		names.Write([]byte{0, 0})
	}
	commentRVA := base + names.Len()
	comment := append([]byte(Marker), 0)

	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("MDMP")
	le(uint32(0xA793))     // version
	le(uint32(nStreams))   // NumberOfStreams
	le(uint32(dirRVA))     // StreamDirectoryRva
	le(uint32(0))          // CheckSum
	le(uint32(1614478446)) // TimeDateStamp: 2021-02-28 02:14:06 UTC
	le(uint64(0x2))        // Flags: MiniDumpWithFullMemory
	le(uint32(ModuleListStream))
	le(uint32(listSize))
	le(uint32(listRVA))
	le(uint32(CommentStreamA))
	le(uint32(len(comment)))
	le(uint32(commentRVA))
	le(uint32(len(modules)))
	for i := range modules {
		le(uint64(0x7ff6_0000_0000 + uint64(i)<<24)) // BaseOfImage
		le(uint32(0x10000))                          // SizeOfImage
		le(uint32(0))                                // CheckSum
		le(uint32(0))                                // TimeDateStamp
		le(uint32(nameRVA[i]))                       // ModuleNameRva
		b.Write(make([]byte, 52+8+8+8+8))            // VersionInfo, CvRecord, MiscRecord, Reserved0/1
	}
	b.Write(names.Bytes())
	b.Write(comment)
	return b.Bytes()
}

// PST returns the head of a Personal Storage Table ("!BDN") whose data
// blocks carry payload in clear, the way ProxyShell's mailbox-export shells
// hold their page (the attacker pre-encodes it so that Exchange's PST
// encoding writes it back in clear).
func PST(payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("!BDN")
	b.Write([]byte{0x2f, 0x1b, 0x5c, 0x7a}) // dwCRCPartial
	b.WriteString("SM")                     // wMagicClient
	b.Write([]byte{0x17, 0x00, 0x13, 0x00}) // wVer (Unicode), wVerClient
	b.Write(make([]byte, 502))
	b.WriteString(Marker)
	b.Write(make([]byte, 1024-b.Len()))
	b.Write(payload)
	b.Write(make([]byte, 512))
	return b.Bytes()
}

// DER returns a DER certificate request (SEQUENCE, long form length) whose
// subject carries payload, the shape of ProxyShell's certificate-request
// export shells (New-ExchangeCertificate -RequestFile x.aspx).
func DER(payload []byte) []byte {
	var body bytes.Buffer
	body.Write([]byte{0x30, 0x82, 0x00, 0x00}) // CertificationRequestInfo (length patched below)
	body.Write([]byte{0x02, 0x01, 0x00})       // version 0
	subj := append([]byte(Marker+" CN="), payload...)
	body.Write([]byte{0x0c, 0x82, byte(len(subj) >> 8), byte(len(subj))}) // UTF8String
	body.Write(subj)
	inner := body.Bytes()
	binary.BigEndian.PutUint16(inner[2:], uint16(len(inner)-4))
	out := []byte{0x30, 0x82, byte(len(inner) >> 8), byte(len(inner))}
	return append(out, inner...)
}

// PE returns a minimal PE image (MZ header, PE signature, an i386 file
// header without sections) followed by ascii strings and UTF-16LE strings,
// the way a compiled ASP.NET page (App_Web_*.dll) carries its virtual path
// and method names.
func PE(ascii []string, wide []string) []byte {
	var b bytes.Buffer
	dos := make([]byte, 0x80)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], 0x80)
	copy(dos[0x40:], "This program cannot be run in DOS mode.\r\r\n$")
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	fh := make([]byte, 20)
	binary.LittleEndian.PutUint16(fh[0:], 0x14c)   // Machine: i386
	binary.LittleEndian.PutUint32(fh[4:], 0)       // TimeDateStamp
	binary.LittleEndian.PutUint16(fh[18:], 0x2102) // Characteristics: executable, 32-bit, DLL
	b.Write(fh)
	b.Write(make([]byte, 16))
	b.WriteString(Marker)
	b.WriteByte(0)
	for _, s := range ascii {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, s := range wide {
		b.Write(UTF16LE(s))
		b.Write([]byte{0, 0})
	}
	return b.Bytes()
}

// UTF16LE encodes s as UTF-16 little endian without a byte-order mark.
func UTF16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(out[2*i:], c)
	}
	return out
}

// WER renders a Windows Error Report (Report.wer): UTF-16LE with a
// byte-order mark, one key=value per line, CRLF.
func WER(kv ...string) []byte {
	var s bytes.Buffer
	for i := 0; i+1 < len(kv); i += 2 {
		s.WriteString(kv[i] + "=" + kv[i+1] + "\r\n")
	}
	return append([]byte{0xff, 0xfe}, UTF16LE(s.String())...)
}

// SevenZip returns the head of a 7-Zip archive (signature, version,
// zeroed start header) followed by Marker.
func SevenZip() []byte {
	b := []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04}
	b = append(b, make([]byte, 24)...)
	return append(b, Marker...)
}

// RAR returns the head of a RAR 5 archive followed by Marker.
func RAR() []byte {
	return append([]byte{'R', 'a', 'r', '!', 0x1a, 0x07, 0x01, 0x00}, Marker...)
}
