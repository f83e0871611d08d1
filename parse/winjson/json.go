package winjson

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader into a flat tree, instead of encoding/json into
// maps: one record is one string allocation (its text) plus one per string
// value that holds an escape, and the tree is reused from record to record.

// Node kinds.
const (
	kObject = 'o'
	kArray  = 'a'
	kString = 's'
	kNumber = 'n'
	kTrue   = 't'
	kFalse  = 'f'
	kNull   = 'z'
)

// Bounds of one record.
const (
	maxDepth = 64
	maxNodes = 1 << 16
)

var errJSON = errors.New("invalid JSON")

type node struct {
	kind  byte
	key   string // member name, for members of an object
	val   string // string value (unescaped) or number text
	first int32  // first child, -1 when none
	next  int32  // next sibling, -1 when none
}

type tree struct {
	nodes []node
	src   string
	pos   int
	depth int
}

// parse reads one JSON value (an object for a record) from src; trailing
// whitespace is allowed, anything else is an error.
func (t *tree) parse(src string) error {
	t.nodes, t.src, t.pos, t.depth = t.nodes[:0], src, 0, 0
	if _, err := t.value(); err != nil {
		return err
	}
	t.space()
	if t.pos != len(t.src) {
		return errJSON
	}
	return nil
}

func (t *tree) space() {
	for t.pos < len(t.src) {
		switch t.src[t.pos] {
		case ' ', '\t', '\n', '\r':
			t.pos++
		default:
			return
		}
	}
}

func (t *tree) add(n node) (int32, error) {
	if len(t.nodes) >= maxNodes {
		return -1, errJSON
	}
	n.first, n.next = -1, -1
	t.nodes = append(t.nodes, n)
	return int32(len(t.nodes) - 1), nil
}

func (t *tree) value() (int32, error) {
	t.space()
	if t.pos >= len(t.src) {
		return -1, errJSON
	}
	switch c := t.src[t.pos]; {
	case c == '{' || c == '[':
		if t.depth++; t.depth > maxDepth {
			return -1, errJSON
		}
		defer func() { t.depth-- }()
		kind, end := byte(kObject), byte('}')
		if c == '[' {
			kind, end = kArray, ']'
		}
		t.pos++
		id, err := t.add(node{kind: kind})
		if err != nil {
			return -1, err
		}
		t.space()
		if t.pos < len(t.src) && t.src[t.pos] == end {
			t.pos++
			return id, nil
		}
		last := int32(-1)
		for {
			var key string
			if kind == kObject {
				t.space()
				if t.pos >= len(t.src) || t.src[t.pos] != '"' {
					return -1, errJSON
				}
				if key, err = t.str(); err != nil {
					return -1, err
				}
				t.space()
				if t.pos >= len(t.src) || t.src[t.pos] != ':' {
					return -1, errJSON
				}
				t.pos++
			}
			child, err := t.value()
			if err != nil {
				return -1, err
			}
			t.nodes[child].key = key
			if last < 0 {
				t.nodes[id].first = child
			} else {
				t.nodes[last].next = child
			}
			last = child
			t.space()
			if t.pos >= len(t.src) {
				return -1, errJSON
			}
			switch t.src[t.pos] {
			case ',':
				t.pos++
			case end:
				t.pos++
				return id, nil
			default:
				return -1, errJSON
			}
		}
	case c == '"':
		s, err := t.str()
		if err != nil {
			return -1, err
		}
		return t.add(node{kind: kString, val: s})
	case c == 't':
		return t.word("true", kTrue)
	case c == 'f':
		return t.word("false", kFalse)
	case c == 'n':
		return t.word("null", kNull)
	case c == '-' || c >= '0' && c <= '9':
		start := t.pos
		for t.pos < len(t.src) {
			c := t.src[t.pos]
			if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
				break
			}
			t.pos++
		}
		return t.add(node{kind: kNumber, val: t.src[start:t.pos]})
	}
	return -1, errJSON
}

func (t *tree) word(w string, kind byte) (int32, error) {
	if !strings.HasPrefix(t.src[t.pos:], w) {
		return -1, errJSON
	}
	t.pos += len(w)
	return t.add(node{kind: kind})
}

// str reads a string at t.pos (on its opening quote). Without escapes it
// is a substring of the record text; with escapes it is a new string.
func (t *tree) str() (string, error) {
	t.pos++
	start := t.pos
	for t.pos < len(t.src) {
		switch c := t.src[t.pos]; {
		case c == '"':
			s := t.src[start:t.pos]
			t.pos++
			return s, nil
		case c == '\\':
			return t.unescape(start)
		case c < 0x20:
			return "", errJSON
		}
		t.pos++
	}
	return "", errJSON
}

func (t *tree) unescape(start int) (string, error) {
	b := make([]byte, 0, t.pos-start+16)
	b = append(b, t.src[start:t.pos]...)
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case c == '"':
			t.pos++
			return string(b), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			b = append(b, c)
			t.pos++
			continue
		}
		if t.pos+1 >= len(t.src) {
			return "", errJSON
		}
		e := t.src[t.pos+1]
		t.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := t.hex4()
			if !ok {
				return "", errJSON
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if strings.HasPrefix(t.src[t.pos:], `\u`) {
					t.pos += 2
					if r2, ok = t.hex4(); !ok {
						return "", errJSON
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (t *tree) hex4() (rune, bool) {
	if t.pos+4 > len(t.src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(t.src[t.pos : t.pos+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	t.pos += 4
	return r, true
}

// get returns the member of object o named key, -1 when absent.
func (t *tree) get(o int32, key string) int32 {
	if o < 0 || t.nodes[o].kind != kObject {
		return -1
	}
	for c := t.nodes[o].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].key == key {
			return c
		}
	}
	return -1
}

// path follows object members.
func (t *tree) path(o int32, keys ...string) int32 {
	for _, k := range keys {
		o = t.get(o, k)
	}
	return o
}

// scalar returns the text of a string, number or boolean node; ok is
// false for objects, arrays, null and absent nodes.
func (t *tree) scalar(n int32) (string, bool) {
	if n < 0 {
		return "", false
	}
	switch t.nodes[n].kind {
	case kString, kNumber:
		return t.nodes[n].val, true
	case kTrue:
		return "true", true
	case kFalse:
		return "false", true
	}
	return "", false
}
