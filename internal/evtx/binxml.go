package evtx

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Binary XML tokens ([MS-EVEN6] 2.2.12). Tokens 0x01, 0x05 to 0x09 may carry
// the "more data" flag 0x40.
const (
	tokEOF           = 0x00
	tokOpenStart     = 0x01
	tokCloseStart    = 0x02
	tokCloseEmpty    = 0x03
	tokEndElement    = 0x04
	tokValue         = 0x05
	tokAttribute     = 0x06
	tokCDATA         = 0x07
	tokCharRef       = 0x08
	tokEntityRef     = 0x09
	tokPITarget      = 0x0a
	tokPIData        = 0x0b
	tokTemplate      = 0x0c
	tokSubst         = 0x0d
	tokOptSubst      = 0x0e
	tokFragment      = 0x0f
	tokMoreFlag      = 0x40
	maxElementDepth  = 64   // nesting of elements inside one fragment
	maxNestedDepth   = 8    // BinXml values inside BinXml values
	maxValues        = 4096 // substitution values of one template instance
	maxOpsPerRecord  = 1 << 14
	templateDefSize  = 24 // next offset, GUID, data size
	nameHeaderSize   = 8  // unknown, hash, character count
	recordHeaderSize = 24
)

// partKind says what a part of an element's content or attribute value is.
type partKind uint8

const (
	partText partKind = iota // static text
	partSub                  // a substitution
	partElem                 // a child element
)

// part is one piece of content or attribute data in a parsed fragment.
type part struct {
	kind     partKind
	optional bool   // optional substitution
	sub      uint16 // substitution index
	text     string // static text
	elem     *node  // child element
}

// node is a parsed element.
type node struct {
	name    string
	attrs   []attr
	content []part
}

// attr is a parsed attribute.
type attr struct {
	name  string
	parts []part
}

func (n *node) hasChildren() bool {
	for i := range n.content {
		if n.content[i].kind == partElem {
			return true
		}
	}
	return false
}

// cursor reads binary XML from a chunk. Offsets are relative to the chunk
// start, as name and template offsets in the data are; end bounds reading.
type cursor struct {
	b   []byte
	pos int
	end int
}

func (c *cursor) need(n int) error {
	if n < 0 || c.pos+n > c.end || c.pos+n > len(c.b) {
		return fmt.Errorf("%d bytes at offset 0x%x: %w", n, c.pos, ErrTruncated)
	}
	return nil
}

func (c *cursor) peek() (byte, error) {
	if err := c.need(1); err != nil {
		return 0, err
	}
	return c.b[c.pos], nil
}

func (c *cursor) u8() (byte, error) {
	if err := c.need(1); err != nil {
		return 0, err
	}
	c.pos++
	return c.b[c.pos-1], nil
}

func (c *cursor) u16() (uint16, error) {
	if err := c.need(2); err != nil {
		return 0, err
	}
	c.pos += 2
	return binary.LittleEndian.Uint16(c.b[c.pos-2:]), nil
}

func (c *cursor) u32() (uint32, error) {
	if err := c.need(4); err != nil {
		return 0, err
	}
	c.pos += 4
	return binary.LittleEndian.Uint32(c.b[c.pos-4:]), nil
}

// parser builds element trees from binary XML. It belongs to a chunk
// decoder and shares its arena and name cache.
type parser struct {
	d *decoder
	// noDep is set when elements carry no dependency identifier (seen in
	// some BinXml substitution values).
	noDep bool
}

// name returns the name whose structure is at off. When off is the
// cursor's position the structure is inline and the cursor moves past it.
func (p parser) name(c *cursor, off uint32) (string, error) {
	inline := int(off) == c.pos
	s, size, err := p.d.nameAt(off)
	if err != nil {
		return "", err
	}
	if inline {
		if err := c.need(size); err != nil {
			return "", err
		}
		c.pos += size
	}
	return s, nil
}

// lpString reads a length-prefixed UTF-16 string.
func (p parser) lpString(c *cursor) (string, error) {
	n, err := c.u16()
	if err != nil {
		return "", err
	}
	if err := c.need(2 * int(n)); err != nil {
		return "", err
	}
	s := p.d.arena.utf16(c.b[c.pos : c.pos+2*int(n)])
	c.pos += 2 * int(n)
	return s, nil
}

// element parses an element starting at its open start element token.
func (p parser) element(c *cursor, depth int) (*node, error) {
	if depth > maxElementDepth {
		return nil, fmt.Errorf("elements nested deeper than %d: %w", maxElementDepth, ErrTooComplex)
	}
	if err := p.d.spend(1); err != nil {
		return nil, err
	}
	start := c.pos
	tok, err := c.u8()
	if err != nil {
		return nil, err
	}
	if tok&^tokMoreFlag != tokOpenStart {
		return nil, fmt.Errorf("token 0x%02x at offset 0x%x, want element: %w", tok, start, ErrBadToken)
	}
	if !p.noDep {
		if _, err := c.u16(); err != nil {
			return nil, err
		}
	}
	if _, err := c.u32(); err != nil { // data size
		return nil, err
	}
	off, err := c.u32()
	if err != nil {
		return nil, err
	}
	n := &node{}
	if n.name, err = p.name(c, off); err != nil {
		return nil, err
	}
	if tok&tokMoreFlag != 0 {
		if _, err := c.u32(); err != nil { // attribute list size
			return nil, err
		}
		for {
			t, err := c.peek()
			if err != nil {
				return nil, err
			}
			if t&^tokMoreFlag != tokAttribute {
				break
			}
			if err := p.d.spend(1); err != nil {
				return nil, err
			}
			c.pos++
			off, err := c.u32()
			if err != nil {
				return nil, err
			}
			var a attr
			if a.name, err = p.name(c, off); err != nil {
				return nil, err
			}
			if a.parts, err = p.data(c, a.parts, depth, false); err != nil {
				return nil, err
			}
			n.attrs = append(n.attrs, a)
		}
	}
	tok, err = c.u8()
	if err != nil {
		return nil, err
	}
	switch tok {
	case tokCloseEmpty:
		return n, nil
	case tokCloseStart:
	default:
		return nil, fmt.Errorf("token 0x%02x at offset 0x%x, want close of start element: %w", tok, c.pos-1, ErrBadToken)
	}
	if n.content, err = p.data(c, nil, depth, true); err != nil {
		return nil, err
	}
	tok, err = c.u8()
	if err != nil {
		return nil, err
	}
	if tok != tokEndElement {
		return nil, fmt.Errorf("token 0x%02x at offset 0x%x, want end of element: %w", tok, c.pos-1, ErrBadToken)
	}
	return n, nil
}

// data parses attribute data or element content into parts, up to (not
// including) the first token that does not belong to it.
func (p parser) data(c *cursor, parts []part, depth int, content bool) ([]part, error) {
	for {
		if err := p.d.spend(1); err != nil {
			return nil, err
		}
		start := c.pos
		tok, err := c.peek()
		if err != nil {
			return nil, err
		}
		switch tok &^ tokMoreFlag {
		case tokValue:
			c.pos++
			if _, err := c.u8(); err != nil { // value type, always a string
				return nil, err
			}
			s, err := p.lpString(c)
			if err != nil {
				return nil, err
			}
			parts = p.appendText(parts, s)
		case tokCharRef:
			c.pos++
			r, err := c.u16()
			if err != nil {
				return nil, err
			}
			s := len(p.d.arena.b)
			p.d.arena.b = utf8.AppendRune(p.d.arena.b, rune(r))
			parts = p.appendText(parts, p.d.arena.str(s))
		case tokEntityRef:
			c.pos++
			off, err := c.u32()
			if err != nil {
				return nil, err
			}
			name, err := p.name(c, off)
			if err != nil {
				return nil, err
			}
			parts = p.appendText(parts, entity(name))
		case tokSubst, tokOptSubst:
			if tok&tokMoreFlag != 0 {
				return nil, fmt.Errorf("token 0x%02x at offset 0x%x: %w", tok, start, ErrBadToken)
			}
			c.pos++
			idx, err := c.u16()
			if err != nil {
				return nil, err
			}
			if _, err := c.u8(); err != nil { // declared type; the instance's type rules
				return nil, err
			}
			parts = append(parts, part{kind: partSub, sub: idx, optional: tok == tokOptSubst})
		case tokCDATA:
			if !content {
				return parts, nil
			}
			c.pos++
			s, err := p.lpString(c)
			if err != nil {
				return nil, err
			}
			parts = p.appendText(parts, s)
		case tokOpenStart:
			if !content {
				return parts, nil
			}
			e, err := p.element(c, depth+1)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{kind: partElem, elem: e})
		case tokPITarget, tokPIData:
			if !content || tok&tokMoreFlag != 0 {
				return parts, nil
			}
			if err := p.skipPI(c, tok); err != nil {
				return nil, err
			}
		default:
			return parts, nil
		}
	}
}

// skipPI skips a processing instruction's target (tokPITarget, a name) or
// data (tokPIData, a length-prefixed string) at the cursor.
func (p parser) skipPI(c *cursor, tok byte) error {
	c.pos++
	if tok == tokPIData {
		_, err := p.lpString(c)
		return err
	}
	off, err := c.u32()
	if err != nil {
		return err
	}
	_, err = p.name(c, off)
	return err
}

// appendText appends static text, merging it with a preceding text part.
// The merged text is built at the end of the arena and grows there: text
// just written after it (a string or character reference token) joins it
// without a copy, other text is appended, and the preceding text is copied
// only when it does not end the arena. An element of n text tokens costs
// O(n), not O(n²).
func (p parser) appendText(parts []part, s string) []part {
	n := len(parts)
	if n == 0 || parts[n-1].kind != partText {
		return append(parts, part{kind: partText, text: s})
	}
	prev := parts[n-1].text
	if s == "" {
		return parts
	}
	if prev == "" {
		parts[n-1].text = s
		return parts
	}
	a := p.d.arena
	start := a.offset(prev)
	switch {
	case start >= 0 && a.offset(s) == start+len(prev) && start+len(prev)+len(s) == len(a.b):
		// s was written right after prev.
	case start >= 0 && start+len(prev) == len(a.b):
		a.b = append(a.b, s...)
	default:
		start = len(a.b)
		a.b = append(a.b, prev...)
		a.b = append(a.b, s...)
	}
	parts[n-1].text = a.str(start)
	return parts
}

// entity returns the text an XML entity reference stands for.
func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return "\""
	case "apos":
		return "'"
	case "nbsp":
		return "\u00a0"
	}
	return "&" + name + ";"
}

// fragment parses a fragment: optional fragment headers and processing
// instructions, then an element. It returns the element, or nil with the
// cursor at a template instance token when the fragment holds a template
// instance.
func (p parser) fragment(c *cursor) (*node, error) {
	for {
		if err := p.d.spend(1); err != nil {
			return nil, err
		}
		tok, err := c.peek()
		if err != nil {
			return nil, err
		}
		switch tok {
		case tokFragment:
			if err := c.need(4); err != nil {
				return nil, err
			}
			c.pos += 4
		case tokPITarget, tokPIData:
			if err := p.skipPI(c, tok); err != nil {
				return nil, err
			}
		case tokTemplate:
			return nil, nil
		case tokOpenStart, tokOpenStart | tokMoreFlag:
			return p.element(c, 0)
		default:
			return nil, fmt.Errorf("token 0x%02x at offset 0x%x, want fragment: %w", tok, c.pos, ErrBadToken)
		}
	}
}
