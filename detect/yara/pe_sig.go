package yara

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Authenticode certificates, as libyara 4.2 reports them through OpenSSL:
// for every WIN_CERTIFICATE of revision 2.0 and type PKCS#7 in the
// security directory, one pe.signatures entry per signer certificate, with
// issuer and subject in X509_NAME_oneline form (OpenSSL 3 escapes "/" in
// values as "\/"), the serial as colon-separated hex bytes, and validity
// times read the way libyara's ASN1_get_time_t does. Nested signatures
// are not signers of the outer PKCS#7 and are not listed, as in libyara
// 4.2. Nothing is verified.

// asn1 is one BER element.
type asn1 struct {
	class       int
	tag         int
	constructed bool
	content     []byte
	raw         []byte // the whole element, header included
}

// readASN1 reads one BER element (definite or indefinite length).
func readASN1(b []byte, depth int) (asn1, []byte, bool) {
	var e asn1
	if len(b) < 2 || depth > 64 {
		return e, nil, false
	}
	e.class = int(b[0] >> 6)
	e.constructed = b[0]&0x20 != 0
	e.tag = int(b[0] & 0x1f)
	i := 1
	if e.tag == 0x1f {
		e.tag = 0
		for {
			if i >= len(b) || i > 5 {
				return e, nil, false
			}
			c := b[i]
			i++
			e.tag = e.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return e, nil, false
	}
	l := int(b[i])
	i++
	switch {
	case l < 0x80:
	case l == 0x80:
		if !e.constructed {
			return e, nil, false
		}
		rest := b[i:]
		start := i
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				e.content = b[start : len(b)-len(rest)]
				e.raw = b[:len(b)-len(rest)+2]
				return e, rest[2:], true
			}
			_, r, ok := readASN1(rest, depth+1)
			if !ok {
				return e, nil, false
			}
			rest = r
		}
	default:
		n := l & 0x7f
		if n > 4 || i+n > len(b) {
			return e, nil, false
		}
		l = 0
		for j := 0; j < n; j++ {
			l = l<<8 | int(b[i+j])
		}
		i += n
	}
	if l < 0 || i+l > len(b) {
		return e, nil, false
	}
	e.content = b[i : i+l]
	e.raw = b[:i+l]
	return e, b[i+l:], true
}

// children reads the elements of a constructed element.
func (e asn1) children() ([]asn1, bool) {
	var out []asn1
	rest := e.content
	for len(rest) > 0 {
		c, r, ok := readASN1(rest, 1)
		if !ok {
			return nil, false
		}
		out = append(out, c)
		rest = r
	}
	return out, true
}

func (e asn1) is(class, tag int) bool { return e.class == class && e.tag == tag }

func oidString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var parts []string
	var v uint64
	first := true
	for _, c := range b {
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			switch {
			case v < 40:
				parts = append(parts, "0", strconv.FormatUint(v, 10))
			case v < 80:
				parts = append(parts, "1", strconv.FormatUint(v-40, 10))
			default:
				parts = append(parts, "2", strconv.FormatUint(v-80, 10))
			}
			first = false
		} else {
			parts = append(parts, strconv.FormatUint(v, 10))
		}
		v = 0
	}
	return strings.Join(parts, ".")
}

// attributeShortNames are OpenSSL's short names for name attributes.
var attributeShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.9": "street",
	"2.5.4.17": "postalCode", "2.5.4.15": "businessCategory", "2.5.4.13": "description", "2.5.4.41": "name",
	"2.5.4.43": "initials", "2.5.4.44": "generationQualifier", "2.5.4.46": "dnQualifier",
	"2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier", "2.5.4.16": "postalAddress",
	"2.5.4.18": "postOfficeBox", "2.5.4.20": "telephoneNumber", "2.5.4.45": "x500UniqueIdentifier",
	"2.5.4.51": "houseIdentifier", "2.5.4.14": "searchGuide", "2.5.4.72": "role",
	"1.2.840.113549.1.9.1": "emailAddress", "1.2.840.113549.1.9.2": "unstructuredName",
	"1.2.840.113549.1.9.8":       "unstructuredAddress",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
	"1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// signatureLongNames are OpenSSL's long names for signature algorithms.
var signatureLongNames = map[string]string{
	"1.2.840.113549.1.1.2": "md2WithRSAEncryption", "1.2.840.113549.1.1.3": "md4WithRSAEncryption",
	"1.2.840.113549.1.1.4": "md5WithRSAEncryption", "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
	"1.2.840.113549.1.1.11": "sha256WithRSAEncryption", "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
	"1.2.840.113549.1.1.13": "sha512WithRSAEncryption", "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
	"1.2.840.113549.1.1.10": "rsassaPss", "1.2.840.113549.1.1.1": "rsaEncryption",
	"1.3.14.3.2.29": "sha1WithRSA", "1.3.14.3.2.3": "md5WithRSA",
	"1.2.840.10045.4.1": "ecdsa-with-SHA1", "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
	"1.2.840.10045.4.3.2": "ecdsa-with-SHA256", "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
	"1.2.840.10045.4.3.4": "ecdsa-with-SHA512", "1.2.840.10040.4.3": "dsaWithSHA1",
	"2.16.840.1.101.3.4.3.1": "dsa_with_SHA224", "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
}

// nameOneline formats a DER Name as OpenSSL 3's X509_NAME_oneline into a
// 256-byte buffer: "/SN=value" per attribute, bytes outside printable ASCII
// as \xHH, "/" as "\/", entries that would not fit dropped.
func nameOneline(name asn1) string {
	var b strings.Builder
	rdns, ok := name.children()
	if !ok {
		return ""
	}
	const room = 255
	for _, rdn := range rdns {
		avas, ok := rdn.children()
		if !ok {
			break
		}
		for _, ava := range avas {
			parts, ok := ava.children()
			if !ok || len(parts) < 2 {
				continue
			}
			oid := oidString(parts[0].content)
			sn, ok := attributeShortNames[oid]
			if !ok {
				sn = oid
			}
			val := parts[1].content
			doit := [4]bool{true, true, true, true}
			if parts[1].tag == 27 && len(val)%4 == 0 { // GeneralString
				doit = [4]bool{}
				for j, c := range val {
					if c != 0 {
						doit[j&3] = true
					}
				}
				if doit[0] || doit[1] || doit[2] {
					doit = [4]bool{true, true, true, true}
				} else {
					doit = [4]bool{false, false, false, true}
				}
			}
			var v strings.Builder
			for j, c := range val {
				if !doit[j&3] {
					continue
				}
				switch {
				case c < ' ' || c > '~':
					fmt.Fprintf(&v, "\\x%02X", c)
				case c == '/':
					v.WriteString("\\/")
				default:
					v.WriteByte(c)
				}
			}
			entry := "/" + sn + "=" + v.String()
			if b.Len()+len(entry) > room {
				return b.String()
			}
			b.WriteString(entry)
		}
	}
	return b.String()
}

// asn1Time reads UTCTime or GeneralizedTime digits as libyara's
// ASN1_get_time_t: no validation, time zone ignored.
func asn1Time(e asn1) (int64, bool) {
	s := e.content
	digit := func(i int) int {
		if i >= len(s) {
			return 0
		}
		return int(s[i]) - '0'
	}
	i := 0
	var year int
	switch e.tag {
	case 23:
		year = digit(0)*10 + digit(1)
		if year < 70 {
			year += 100
		}
		year += 1900
		i = 2
	case 24:
		year = digit(0)*1000 + digit(1)*100 + digit(2)*10 + digit(3)
		i = 4
	default:
		return 0, false
	}
	mon := digit(i)*10 + digit(i+1)
	day := digit(i+2)*10 + digit(i+3)
	hh := digit(i+4)*10 + digit(i+5)
	mm := digit(i+6)*10 + digit(i+7)
	ss := digit(i+8)*10 + digit(i+9)
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC).Unix(), true
}

// minimalInteger re-encodes a DER INTEGER's content without redundant
// leading bytes, as OpenSSL's i2d_ASN1_INTEGER does.
func minimalInteger(b []byte) []byte {
	for len(b) > 1 && (b[0] == 0 && b[1] < 0x80 || b[0] == 0xff && b[1] >= 0x80) {
		b = b[1:]
	}
	return b
}

type x509Cert struct {
	raw                       []byte
	serial                    []byte // INTEGER content
	issuer, subject           asn1
	version                   int64
	sigOID                    string
	notBefore, notAfter       int64
	hasNotBefore, hasNotAfter bool
}

func parseCert(e asn1) (*x509Cert, bool) {
	parts, ok := e.children()
	if !ok || len(parts) < 3 || !parts[0].is(0, 16) {
		return nil, false
	}
	tbs, ok := parts[0].children()
	if !ok || len(tbs) < 6 {
		return nil, false
	}
	c := &x509Cert{raw: e.raw, version: 1}
	i := 0
	if tbs[0].is(2, 0) {
		v, ok := tbs[0].children()
		if !ok || len(v) != 1 {
			return nil, false
		}
		n := int64(0)
		for _, x := range v[0].content {
			n = n<<8 | int64(x)
		}
		c.version = n + 1
		i++
	}
	if len(tbs) < i+5 || !tbs[i].is(0, 2) {
		return nil, false
	}
	c.serial = tbs[i].content
	c.issuer = tbs[i+2]
	validity, ok := tbs[i+3].children()
	if ok && len(validity) == 2 {
		c.notBefore, c.hasNotBefore = asn1Time(validity[0])
		c.notAfter, c.hasNotAfter = asn1Time(validity[1])
	}
	c.subject = tbs[i+4]
	alg, ok := parts[1].children()
	if ok && len(alg) > 0 {
		c.sigOID = oidString(alg[0].content)
	}
	return c, true
}

func (c *x509Cert) fields() map[string]any {
	sum := sha1.Sum(c.raw)
	m := map[string]any{
		"thumbprint": hex.EncodeToString(sum[:]),
		"issuer":     nameOneline(c.issuer),
		"subject":    nameOneline(c.subject),
		"version":    c.version,
	}
	if ln, ok := signatureLongNames[c.sigOID]; ok {
		m["algorithm"] = ln
		m["algorithm_oid"] = c.sigOID
	} else {
		m["algorithm"] = "undefined"
		m["algorithm_oid"] = c.sigOID
	}
	if s := minimalInteger(c.serial); len(s) >= 1 && len(s) <= 20 {
		h := make([]string, len(s))
		for i, b := range s {
			h[i] = fmt.Sprintf("%02x", b)
		}
		m["serial"] = strings.Join(h, ":")
	}
	if c.hasNotBefore {
		m["not_before"] = c.notBefore
	}
	if c.hasNotAfter {
		m["not_after"] = c.notAfter
	}
	return m
}

// signers returns the signer certificates of a PKCS#7 SignedData blob, or
// false where OpenSSL's PKCS7_get0_signers would fail.
func signers(blob []byte) ([]*x509Cert, bool) {
	ci, _, ok := readASN1(blob, 0)
	if !ok || !ci.is(0, 16) {
		return nil, false
	}
	parts, ok := ci.children()
	if !ok || len(parts) < 2 || oidString(parts[0].content) != "1.2.840.113549.1.7.2" || !parts[1].is(2, 0) {
		return nil, false
	}
	inner, ok := parts[1].children()
	if !ok || len(inner) != 1 {
		return nil, false
	}
	sd, ok := inner[0].children()
	if !ok || len(sd) < 4 {
		return nil, false
	}
	var certs []*x509Cert
	var signerInfos asn1
	for _, e := range sd[3:] {
		switch {
		case e.is(2, 0):
			cs, ok := e.children()
			if !ok {
				return nil, false
			}
			for _, c := range cs {
				if !c.is(0, 16) {
					continue // attribute certificates and others are skipped
				}
				x, ok := parseCert(c)
				if !ok {
					return nil, false
				}
				certs = append(certs, x)
			}
		case e.is(0, 17):
			signerInfos = e
		}
	}
	sis, ok := signerInfos.children()
	if !ok || len(sis) == 0 {
		return nil, false
	}
	var out []*x509Cert
	for _, si := range sis {
		f, ok := si.children()
		if !ok || len(f) < 2 {
			return nil, false
		}
		ias, ok := f[1].children()
		if !ok || len(ias) != 2 {
			return nil, false
		}
		var found *x509Cert
		for _, c := range certs {
			if bytes.Equal(c.issuer.raw, ias[0].raw) && bytes.Equal(minimalInteger(c.serial), minimalInteger(ias[1].content)) {
				found = c
				break
			}
		}
		if found == nil {
			return nil, false
		}
		out = append(out, found)
	}
	return out, true
}

func (p *peFile) parseSignatures(m map[string]any) {
	m["number_of_signatures"] = int64(0)
	va, size, ok := p.dirEntry(dirSecurity)
	if !ok {
		return
	}
	n := uint64(len(p.data))
	if va == 0 || uint64(va) > n || uint64(size) > n || uint64(va)+uint64(size) > n {
		return
	}
	eod := uint64(va) + uint64(size)
	var sigs []any
	for off := uint64(va); off+8 <= n && off+8 <= eod; {
		length := uint64(binary.LittleEndian.Uint32(p.data[off:]))
		rev := binary.LittleEndian.Uint16(p.data[off+4:])
		typ := binary.LittleEndian.Uint16(p.data[off+6:])
		if off+length > eod || length < 8 {
			break
		}
		end := off + length
		next := end + end%8
		if rev != 0x0200 || typ != 2 {
			off = next
			continue
		}
		certs, ok := signers(p.data[off+8 : end])
		if !ok {
			break
		}
		for _, c := range certs {
			sigs = append(sigs, c.fields())
		}
		off = next
	}
	m["signatures"] = sigs
	m["number_of_signatures"] = int64(len(sigs))
}
