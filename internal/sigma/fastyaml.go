package sigma

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file holds a parser for the YAML subset that Sigma rule files use:
// block mappings and sequences indented with spaces, plain scalars (also
// over several lines), single- and double-quoted scalars on one line,
// literal block scalars (| and |-), flow sequences of scalars on one line,
// comments and several documents separated by ---.
//
// It builds the same yaml.Node trees as yaml.v3 (Kind, Tag, Value, Style,
// Line, Column) except for comments, which it drops: the loader reads none
// (scalarText strips them before rendering). Anything outside the subset,
// or anything it is not sure of, makes it decline the whole file; the file
// is then read by yaml.v3, so what a file loads to, and the error a broken
// file gets, do not depend on which parser read it.
//
// A document parsed this way costs a fraction of yaml.v3's time and
// allocations: scalar values are substrings of one copy of the file, and
// nodes and Content slices come from per-file slabs.

// maxFastDepth bounds nesting on the fast path (the loader rejects more
// than maxNodeDepth anyway).
const maxFastDepth = 48

// maxFastKey bounds the bytes of a key: yaml.v3 needs a key to end within
// 1024 characters of its start.
const maxFastKey = 1000

// Resolved tags, as yaml.v3 writes them.
const (
	tagStr       = "!!str"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagBool      = "!!bool"
	tagNull      = "!!null"
	tagTimestamp = "!!timestamp"
	tagSeq       = "!!seq"
	tagMap       = "!!map"
)

// fastLine is one line of the input, without its line break.
type fastLine struct {
	start, end int // byte offsets into the source
	indent     int // leading spaces
	ascii      bool
	kind       lineKind
}

type lineKind uint8

const (
	lineContent lineKind = iota
	lineBlank            // spaces only
	lineComment          // spaces, then #
	lineMarker           // --- at column 1: a document start
)

// fastParser holds the state of one file's parse.
type fastParser struct {
	src     string
	lines   []fastLine
	i       int // current line
	content int // lines that are not blank or comments
	depth   int
	nodes   []yaml.Node  // slab the nodes are taken from
	ptrs    []*yaml.Node // slab the Content slices are taken from
	// nodesOut and ptrsOut are set once the first slabs (the pooled ones)
	// are full and others were made.
	nodesOut, ptrsOut bool
	stack             []*yaml.Node // children of the collections being parsed
	buf               []byte       // scratch for values that are not substrings
}

// fastDocs parses data with the fast parser. It returns the documents, or
// ok false when data is outside the subset the parser handles (or the
// parser failed), in which case the caller must use yaml.v3. When ok, the
// caller calls release once done with the documents: their nodes go back
// to a pool for the next file (a hunt parses thousands; the nodes are most
// of what loading them allocates).
func fastDocs(data []byte) (docs []*yaml.Node, release func(), ok bool) {
	var sl *slabs
	defer func() {
		if recover() != nil {
			docs, release, ok = nil, nil, false
		}
	}()
	sl = slabPool.Get().(*slabs)
	docs, ok = parseSlabs(data, sl)
	if !ok {
		sl.put()
		return nil, nil, false
	}
	return docs, sl.put, true
}

// slabs are the node and Content slabs of a parse, kept for reuse. The
// parser takes nodes from nodes[:0] and needs them zeroed: put clears what
// a parse used.
type slabs struct {
	nodes []yaml.Node
	ptrs  []*yaml.Node
	// used are how many of each the last parse took.
	usedNodes, usedPtrs int
}

// maxPooledNodes bounds the slabs kept: a huge file's are left to the GC.
const maxPooledNodes = 1 << 14

var slabPool = sync.Pool{New: func() any { return new(slabs) }}

// put clears the slabs and returns them to the pool; no node of theirs may
// be used afterwards.
func (sl *slabs) put() {
	clear(sl.nodes[:sl.usedNodes])
	clear(sl.ptrs[:sl.usedPtrs])
	sl.nodes, sl.ptrs = sl.nodes[:0], sl.ptrs[:0]
	if cap(sl.nodes) <= maxPooledNodes {
		slabPool.Put(sl)
	}
}

// parseFast is fastDocs without the recovery and the pool, for tests and
// fuzzing.
func parseFast(data []byte) ([]*yaml.Node, bool) {
	return parseSlabs(data, new(slabs))
}

// parseSlabs parses data, taking nodes from sl when it holds enough (sl is
// then set to the slabs used).
func parseSlabs(data []byte, sl *slabs) ([]*yaml.Node, bool) {
	p := &fastParser{src: string(data)}
	defer func() { // what put must clear, whatever the outcome
		sl.usedNodes, sl.usedPtrs = cap(sl.nodes), cap(sl.ptrs)
		if !p.nodesOut {
			sl.usedNodes = len(p.nodes)
		}
		if !p.ptrsOut {
			sl.usedPtrs = len(p.ptrs)
		}
	}()
	if !p.split() {
		return nil, false
	}
	// A content line holds at most two nodes but for "- key: value" (Sigma
	// rules hold 1.6 on average); more come in chunks.
	need := 2*p.content + 2
	if cap(sl.nodes) < need {
		sl.nodes = make([]yaml.Node, 0, need)
	}
	if cap(sl.ptrs) < need {
		sl.ptrs = make([]*yaml.Node, 0, need)
	}
	p.nodes, p.ptrs = sl.nodes[:0], sl.ptrs[:0]
	var docs []*yaml.Node
	p.skip()
	for p.i < len(p.lines) {
		ln := &p.lines[p.i]
		var doc *yaml.Node
		if ln.kind == lineMarker {
			doc = p.node(yaml.DocumentNode, "", "", 0, p.i, 1)
			p.i++
			p.skip()
			if p.i == len(p.lines) || p.lines[p.i].kind == lineMarker {
				line, col := p.nextTokenPos()
				doc.Content = p.one(p.node(yaml.ScalarNode, tagNull, "", 0, line, col))
				docs = append(docs, doc)
				continue
			}
			ln = &p.lines[p.i]
		} else {
			doc = p.node(yaml.DocumentNode, "", "", 0, p.i, ln.indent+1)
		}
		root := p.block(-1)
		if root == nil {
			return nil, false
		}
		doc.Content = p.one(root)
		docs = append(docs, doc)
		p.skip()
		if p.i < len(p.lines) && p.lines[p.i].kind != lineMarker {
			return nil, false // more content after the root
		}
	}
	return docs, true
}

// split cuts the source into lines and classifies them. It returns false
// for input the parser does not handle anywhere: tabs, carriage returns,
// control characters, byte order marks, other line breaks, invalid UTF-8,
// directives and document end markers.
func (p *fastParser) split() bool {
	s := p.src
	p.lines = make([]fastLine, 0, strings.Count(s, "\n")+1)
	start := 0
	ascii := true
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			p.lines = append(p.lines, fastLine{start: start, end: i, ascii: ascii})
			start, ascii = i+1, true
			i++
			continue
		case c < 0x20 || c == 0x7f:
			return false
		case c < utf8.RuneSelf:
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
		ascii = false
		i += size
	}
	if start < len(s) {
		p.lines = append(p.lines, fastLine{start: start, end: len(s), ascii: ascii})
	}
	for k := range p.lines {
		ln := &p.lines[k]
		t := s[ln.start:ln.end]
		n := 0
		for n < len(t) && t[n] == ' ' {
			n++
		}
		ln.indent = n
		p.content++
		switch {
		case n == len(t):
			p.content--
			ln.kind = lineBlank
		case t[n] == '#':
			p.content--
			ln.kind = lineComment
		case n == 0 && t[0] == '%':
			return false
		case n == 0 && (strings.HasPrefix(t, "---") || strings.HasPrefix(t, "...")) && (len(t) == 3 || t[3] == ' '):
			if t[0] == '.' || !p.onlyComment(ln.start+3, ln.end) {
				return false
			}
			ln.kind = lineMarker
		}
	}
	return true
}

// onlyComment reports whether src[from:to] is blank or spaces then a
// comment.
func (p *fastParser) onlyComment(from, to int) bool {
	k := from
	for k < to && p.src[k] == ' ' {
		k++
	}
	return k == to || k > from && p.src[k] == '#'
}

// skip moves past blank and comment lines.
func (p *fastParser) skip() {
	for p.i < len(p.lines) && (p.lines[p.i].kind == lineBlank || p.lines[p.i].kind == lineComment) {
		p.i++
	}
}

// nextTokenPos returns where yaml.v3 places the token at the current line:
// its first character, or for the end of the input the start of the line
// after the last one.
func (p *fastParser) nextTokenPos() (line, col int) {
	if p.i < len(p.lines) {
		return p.i, p.lines[p.i].indent + 1
	}
	n := strings.Count(p.src, "\n")
	if len(p.src) > 0 && p.src[len(p.src)-1] != '\n' {
		n++
	}
	return n, 1
}

// column returns the 1-based column of byte offset off in line k.
func (p *fastParser) column(k, off int) int {
	ln := &p.lines[k]
	if ln.ascii {
		return off - ln.start + 1
	}
	return utf8.RuneCountInString(p.src[ln.start:off]) + 1
}

// node returns a new node from the slab; line is 0-based.
func (p *fastParser) node(kind yaml.Kind, tag, value string, style yaml.Style, line, col int) *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodesOut = true
		p.nodes = make([]yaml.Node, 0, 64)
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	n := &p.nodes[len(p.nodes)-1]
	// The slab is zeroed: setting fields one by one spares the write
	// barriers of copying a whole Node.
	n.Kind, n.Style, n.Line, n.Column = kind, style, line+1, col
	n.Tag, n.Value = tag, value
	return n
}

// one returns a Content slice holding n.
func (p *fastParser) one(n *yaml.Node) []*yaml.Node {
	p.stack = append(p.stack, n)
	return p.children(len(p.stack) - 1)
}

// children moves the stack from start on into a Content slice of exact
// capacity, so that appending to it never touches a neighbour.
func (p *fastParser) children(start int) []*yaml.Node {
	n := len(p.stack) - start
	if n == 0 {
		return nil
	}
	if cap(p.ptrs)-len(p.ptrs) < n {
		p.ptrsOut = true
		p.ptrs = make([]*yaml.Node, 0, max(n, 64))
	}
	at := len(p.ptrs)
	p.ptrs = append(p.ptrs, p.stack[start:]...)
	p.stack = p.stack[:start]
	return p.ptrs[at : at+n : at+n]
}

// isDash reports whether text (a line from its indentation on) starts a
// block sequence entry.
func isDash(text string) bool {
	return len(text) > 0 && text[0] == '-' && (len(text) == 1 || text[1] == ' ')
}

// block parses the collection that starts at the current line, which is a
// content line indented more than parent.
func (p *fastParser) block(parent int) *yaml.Node {
	ln := &p.lines[p.i]
	if ln.kind != lineContent || ln.indent <= parent {
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFastDepth {
		return nil
	}
	if isDash(p.src[ln.start+ln.indent : ln.end]) {
		return p.sequence(ln.indent, false)
	}
	return p.mapping(ln.indent, ln.start+ln.indent)
}

// entry moves to the next line of a collection at indentation col. It
// returns that line, or nil when the collection ends before it; ok is
// false for a line indented more, which the fast path leaves to yaml.v3.
func (p *fastParser) entry(col int) (ln *fastLine, ok bool) {
	p.skip()
	if p.i == len(p.lines) {
		return nil, true
	}
	ln = &p.lines[p.i]
	switch {
	case ln.kind == lineMarker || ln.indent < col:
		return nil, true
	case ln.indent > col:
		return nil, false
	}
	return ln, true
}

// sequence parses a block sequence whose dashes are at indentation col. An
// indentless sequence (a mapping value with its dashes at the key's
// indentation) ends at the first line there that is not an entry.
func (p *fastParser) sequence(col int, indentless bool) *yaml.Node {
	seq := p.node(yaml.SequenceNode, tagSeq, "", 0, p.i, col+1)
	start := len(p.stack)
	for {
		ln, ok := p.entry(col)
		if !ok {
			return nil
		}
		if ln == nil {
			break
		}
		if !isDash(p.src[ln.start+ln.indent : ln.end]) {
			if indentless {
				break
			}
			return nil
		}
		off := ln.start + col + 1
		for off < ln.end && p.src[off] == ' ' {
			off++
		}
		var item *yaml.Node
		switch {
		case off == ln.end || p.src[off] == '#':
			item = p.nested(col, p.i, ln.start+col+1, false)
		case isDash(p.src[off:ln.end]):
			return nil // a compact nested sequence
		case p.keyColon(off, ln.end) >= 0:
			p.depth++
			item = p.mapping(off-ln.start, off)
			p.depth--
		default:
			item = p.inline(off, col, false)
		}
		if item == nil {
			return nil
		}
		p.stack = append(p.stack, item)
	}
	seq.Content = p.children(start)
	return seq
}

// nested parses the value of an entry or key that ends its line (at byte
// off of line k): the block indented more than col on the following lines,
// an indentless sequence when allowed, or else null.
func (p *fastParser) nested(col, k, off int, mapValue bool) *yaml.Node {
	p.i++
	p.skip()
	if p.i < len(p.lines) {
		ln := &p.lines[p.i]
		if ln.kind == lineContent && ln.indent > col {
			return p.block(col)
		}
		if mapValue && ln.kind == lineContent && ln.indent == col && isDash(p.src[ln.start+ln.indent:ln.end]) {
			p.depth++
			defer func() { p.depth-- }()
			if p.depth > maxFastDepth {
				return nil
			}
			return p.sequence(col, true)
		}
	}
	return p.node(yaml.ScalarNode, tagNull, "", 0, k, p.column(k, off))
}

// keyColon returns the offset of the colon that ends a key starting at
// byte off of the current line (which ends at end), or -1 when no key
// starts there.
func (p *fastParser) keyColon(off, end int) int {
	k := off
	switch p.src[off] {
	case '\'':
		for k++; k < end; k++ {
			if p.src[k] == '\'' {
				if k+1 < end && p.src[k+1] == '\'' {
					k++
					continue
				}
				return p.colon(k+1, end)
			}
		}
		return -1
	case '"':
		for k++; k < end; k++ {
			switch p.src[k] {
			case '\\':
				k++
			case '"':
				return p.colon(k+1, end)
			}
		}
		return -1
	}
	for ; k < end; k++ {
		switch p.src[k] {
		case ':':
			if k+1 == end || p.src[k+1] == ' ' {
				return k
			}
		case '#':
			if p.src[k-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// colon returns the offset of the colon after the spaces at byte off (up
// to end) when it ends the line or a space follows it, else -1.
func (p *fastParser) colon(off, end int) int {
	for off < end && p.src[off] == ' ' {
		off++
	}
	if off < end && p.src[off] == ':' && (off+1 == end || p.src[off+1] == ' ') {
		return off
	}
	return -1
}

// mapping parses a block mapping whose keys are at indentation col; the
// first key starts at byte off of the current line.
func (p *fastParser) mapping(col, off int) *yaml.Node {
	m := p.node(yaml.MappingNode, tagMap, "", 0, p.i, p.column(p.i, off))
	start := len(p.stack)
	for first := true; ; first = false {
		if !first {
			ln, ok := p.entry(col)
			if !ok {
				return nil
			}
			if ln == nil {
				break
			}
			off = ln.start + col
		}
		k := p.i
		end := p.lines[k].end
		key, after := p.key(off, end)
		if key == nil {
			return nil
		}
		v := after
		for v < end && p.src[v] == ' ' {
			v++
		}
		var val *yaml.Node
		if v == end || p.src[v] == '#' {
			val = p.nested(col, k, after, true)
		} else {
			val = p.inline(v, col, true)
		}
		if val == nil {
			return nil
		}
		p.stack = append(p.stack, key, val)
	}
	m.Content = p.children(start)
	return m
}

// key parses a mapping key at byte off of the current line and its colon;
// it returns the key node and the offset after the colon.
func (p *fastParser) key(off, end int) (*yaml.Node, int) {
	at := p.keyColon(off, end)
	if at < 0 || at-off >= maxFastKey {
		return nil, 0
	}
	if c := p.src[off]; c == '\'' || c == '"' {
		n, _ := p.quoted(off, end)
		return n, at + 1
	}
	if !plainStart(p.src[off]) {
		return nil, 0
	}
	val := strings.TrimRight(p.src[off:at], " ")
	tag := resolvePlain(val)
	if tag == "" {
		return nil, 0
	}
	return p.node(yaml.ScalarNode, tag, val, 0, p.i, p.column(p.i, off)), at + 1
}

// plainStart reports whether a plain scalar may start with c on the fast
// path: YAML indicators never do (even where YAML would allow -, ? or :).
func plainStart(c byte) bool {
	return !strings.ContainsRune("-?:,[]{}#&*!|>'\"%@` ", rune(c))
}

// inline parses a value that starts at byte off of the current line, inside
// a collection at indentation col, and moves to the line after it.
func (p *fastParser) inline(off, col int, mapValue bool) *yaml.Node {
	k := p.i
	end := p.lines[k].end
	var n *yaml.Node
	var after int
	switch c := p.src[off]; c {
	case '|':
		if !mapValue {
			return nil
		}
		return p.literal(off, col)
	case '\'', '"':
		if n, after = p.quoted(off, end); n == nil {
			return nil
		}
	case '[':
		n, after = p.flowSequence(off, end)
		if n == nil {
			return nil
		}
	case '-':
		if off+1 == end || p.src[off+1] == ' ' {
			return nil
		}
		return p.plain(off, col)
	default:
		if !plainStart(c) {
			return nil
		}
		return p.plain(off, col)
	}
	if !p.onlyComment(after, end) {
		return nil
	}
	p.i++
	return n
}

// plain parses a plain scalar starting at byte off of the current line,
// continued on the following lines indented more than col.
func (p *fastParser) plain(off, col int) *yaml.Node {
	k := p.i
	text, comment, ok := p.plainLine(off, p.lines[k].end)
	if !ok {
		return nil
	}
	val := text
	p.i++
	if !comment {
		var b []byte
		breaks := 0
		for j := p.i; j < len(p.lines); j++ {
			ln := &p.lines[j]
			if ln.kind == lineBlank {
				breaks++
				continue
			}
			if ln.kind != lineContent || ln.indent <= col {
				break
			}
			more, comment, ok := p.plainLine(ln.start+ln.indent, ln.end)
			if !ok {
				return nil
			}
			if b == nil {
				b = append(p.buf[:0], val...)
			}
			if breaks == 0 {
				b = append(b, ' ')
			}
			for ; breaks > 0; breaks-- {
				b = append(b, '\n') // a blank line folds to a line break
			}
			b = append(b, more...)
			p.i = j + 1
			if comment {
				break
			}
		}
		if b != nil {
			val = string(b)
			p.buf = b
		}
	}
	tag := resolvePlain(val)
	if tag == "" {
		return nil
	}
	return p.node(yaml.ScalarNode, tag, val, 0, k, p.column(k, off))
}

// plainLine returns the part of a plain scalar on one line, from byte off
// to end: up to a comment, without trailing spaces. It fails on ": " and a
// final ':', which would end the scalar in a way the fast path leaves to
// yaml.v3.
func (p *fastParser) plainLine(off, end int) (text string, comment, ok bool) {
	k := off
	for ; k < end; k++ {
		switch p.src[k] {
		case ':':
			if k+1 == end || p.src[k+1] == ' ' {
				return "", false, false
			}
		case '#':
			if p.src[k-1] == ' ' {
				comment = true
				end = k
			}
		}
	}
	return strings.TrimRight(p.src[off:end], " "), comment, true
}

// quoted parses the single- or double-quoted scalar at byte off of the
// current line, which must end on the line (at end); it returns the node
// and the offset after the closing quote, or nil.
func (p *fastParser) quoted(off, end int) (*yaml.Node, int) {
	val, after, ok := "", 0, false
	style := yaml.SingleQuotedStyle
	if p.src[off] == '\'' {
		val, after, ok = p.singleQuoted(off, end)
	} else {
		val, after, ok = p.doubleQuoted(off, end)
		style = yaml.DoubleQuotedStyle
	}
	if !ok {
		return nil, 0
	}
	return p.node(yaml.ScalarNode, tagStr, val, style, p.i, p.column(p.i, off)), after
}

// singleQuoted parses a single-quoted scalar that ends on its line; it
// returns the value and the offset after the closing quote.
func (p *fastParser) singleQuoted(off, end int) (string, int, bool) {
	escaped := false
	for k := off + 1; k < end; k++ {
		if p.src[k] != '\'' {
			continue
		}
		if k+1 < end && p.src[k+1] == '\'' {
			escaped = true
			k++
			continue
		}
		val := p.src[off+1 : k]
		if escaped {
			val = strings.ReplaceAll(val, "''", "'")
		}
		return val, k + 1, true
	}
	return "", 0, false
}

// doubleQuoted parses a double-quoted scalar that ends on its line; it
// returns the value and the offset after the closing quote.
func (p *fastParser) doubleQuoted(off, end int) (string, int, bool) {
	var b []byte
	from := off + 1
	for k := off + 1; k < end; k++ {
		switch p.src[k] {
		case '"':
			if b == nil {
				return p.src[off+1 : k], k + 1, true
			}
			b = append(b, p.src[from:k]...)
			p.buf = b
			return string(b), k + 1, true
		case '\\':
			if k+1 == end {
				return "", 0, false
			}
			if b == nil {
				b = p.buf[:0]
			}
			b = append(b, p.src[from:k]...)
			var ok bool
			b, k, ok = unescape(b, p.src[:end], k+1)
			if !ok {
				return "", 0, false
			}
			from = k + 1
		}
	}
	return "", 0, false
}

// unescape appends the character of the escape sequence at s[k] (after
// the backslash) to b and returns the offset of its last byte.
func unescape(b []byte, s string, k int) ([]byte, int, bool) {
	var r string
	digits := 0
	switch s[k] {
	case '0':
		r = "\x00"
	case 'a':
		r = "\a"
	case 'b':
		r = "\b"
	case 't':
		r = "\t"
	case 'n':
		r = "\n"
	case 'v':
		r = "\v"
	case 'f':
		r = "\f"
	case 'r':
		r = "\r"
	case 'e':
		r = "\x1b"
	case ' ', '"', '\'', '\\':
		r = s[k : k+1]
	case 'N':
		r = "\u0085"
	case '_':
		r = "\u00a0"
	case 'L':
		r = "\u2028"
	case 'P':
		r = "\u2029"
	case 'x':
		digits = 2
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	}
	if r != "" {
		return append(b, r...), k, true
	}
	if digits == 0 || k+digits >= len(s) {
		return b, 0, false
	}
	v, err := strconv.ParseUint(s[k+1:k+1+digits], 16, 32)
	if err != nil || v >= 0xd800 && v <= 0xdfff || v > 0x10ffff {
		return b, 0, false
	}
	return utf8.AppendRune(b, rune(v)), k + digits, true
}

// flowSequence parses a flow sequence of scalars that ends on its line;
// it returns the node and the offset after the closing bracket.
func (p *fastParser) flowSequence(off, end int) (*yaml.Node, int) {
	k := p.i
	seq := p.node(yaml.SequenceNode, tagSeq, "", yaml.FlowStyle, k, p.column(k, off))
	start := len(p.stack)
	at := off + 1
	for {
		for at < end && p.src[at] == ' ' {
			at++
		}
		if at == end {
			return nil, 0
		}
		if p.src[at] == ']' && len(p.stack) == start {
			break
		}
		var item *yaml.Node
		switch c := p.src[at]; c {
		case '\'', '"':
			if item, at = p.quoted(at, end); item == nil {
				return nil, 0
			}
		default:
			if !plainStart(c) {
				return nil, 0
			}
			from := at
			for at < end && !strings.ContainsRune(",]", rune(p.src[at])) {
				if strings.ContainsRune(":#[{}'\"", rune(p.src[at])) {
					return nil, 0
				}
				at++
			}
			val := strings.TrimRight(p.src[from:at], " ")
			tag := resolvePlain(val)
			if tag == "" {
				return nil, 0
			}
			item = p.node(yaml.ScalarNode, tag, val, 0, k, p.column(k, from))
		}
		p.stack = append(p.stack, item)
		for at < end && p.src[at] == ' ' {
			at++
		}
		if at == end {
			return nil, 0
		}
		if p.src[at] == ']' {
			break
		}
		if p.src[at] != ',' {
			return nil, 0
		}
		at++
		for at < end && p.src[at] == ' ' {
			at++
		}
		if at < end && p.src[at] == ']' {
			return nil, 0 // a trailing comma
		}
	}
	seq.Content = p.children(start)
	return seq, at + 1
}

// literal parses a literal block scalar (| or |-) whose indicator is at
// byte off of the current line, the value of a key at indentation col.
func (p *fastParser) literal(off, col int) *yaml.Node {
	k := p.i
	ln := &p.lines[k]
	h := off + 1
	strip := false
	if h < ln.end && p.src[h] == '-' {
		strip = true
		h++
	}
	if h < ln.end && (p.src[h] != ' ' || !p.onlyComment(h, ln.end)) {
		return nil
	}
	n := p.node(yaml.ScalarNode, tagStr, "", yaml.LiteralStyle, k, p.column(k, off))
	minIndent := max(col+1, 1)
	// Leading blank lines, then the first content line sets the indentation.
	j := k + 1
	lead := 0
	maxLead := 0
	for j < len(p.lines) && p.lines[j].kind == lineBlank {
		maxLead = max(maxLead, p.lines[j].end-p.lines[j].start)
		lead++
		j++
	}
	if j == len(p.lines) || p.lines[j].indent < minIndent {
		p.i = j
		return n
	}
	indent := p.lines[j].indent
	if maxLead > indent {
		return nil
	}
	// Content lines and blank lines between them, up to a line indented
	// less.
	first, last := j, j
	for j < len(p.lines) {
		l := &p.lines[j]
		if l.kind == lineBlank {
			if l.end-l.start > indent {
				return nil // spaces beyond the indentation are content
			}
			j++
			continue
		}
		if l.indent < indent {
			break
		}
		last = j
		j++
	}
	p.i = j
	if lead == 0 && first == last {
		l := &p.lines[first]
		end := l.end
		if !strip && end < len(p.src) {
			end++ // the line break
		}
		n.Value = p.src[l.start+indent : end]
		return n
	}
	b := p.buf[:0]
	for ; lead > 0; lead-- {
		b = append(b, '\n')
	}
	for m := first; m <= last; m++ {
		l := &p.lines[m]
		if l.kind != lineBlank {
			b = append(b, p.src[l.start+indent:l.end]...)
		}
		if m < last {
			b = append(b, '\n')
		}
	}
	if !strip && p.lines[last].end < len(p.src) {
		b = append(b, '\n')
	}
	n.Value = string(b)
	p.buf = b
	return n
}

// resolvePlain returns the tag yaml.v3 gives a plain scalar, or "" for
// the merge key, which the fast path leaves to yaml.v3.
func resolvePlain(s string) string {
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool
	case "", "~", "null", "Null", "NULL":
		return tagNull
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return tagFloat
	case "<<":
		return ""
	}
	switch c := s[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return tagFloat
		}
	case c >= '0' && c <= '9' || c == '+' || c == '-':
		return resolveNumber(s)
	}
	return tagStr
}

// timestampLayouts are the layouts yaml.v3 accepts for plain timestamps.
var timestampLayouts = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// resolveNumber resolves a plain scalar that starts with a digit or a
// sign as yaml.v3 does: a timestamp, an integer, a float or a string.
func resolveNumber(s string) string {
	if d := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); d == 4 && s[4] == '-' {
		for _, layout := range timestampLayouts {
			if _, err := time.Parse(layout, s); err == nil {
				return tagTimestamp
			}
		}
	}
	t := strings.ReplaceAll(s, "_", "")
	if intChars(t) { // spares the error values of parsing ids and words
		if _, err := strconv.ParseInt(t, 0, 64); err == nil {
			return tagInt
		}
		if _, err := strconv.ParseUint(t, 0, 64); err == nil {
			return tagInt
		}
	}
	if isYAMLFloat(t) {
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return tagFloat
		}
	}
	for _, pre := range []struct {
		prefix string
		base   int
	}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
		digits, ok := strings.CutPrefix(t, pre.prefix)
		if !ok {
			continue
		}
		if pre.prefix[0] == '-' {
			digits = "-" + digits
		} else if _, err := strconv.ParseUint(digits, pre.base, 64); err == nil {
			return tagInt
		}
		if _, err := strconv.ParseInt(digits, pre.base, 64); err == nil {
			return tagInt
		}
	}
	return tagStr
}

// intChars reports whether t, after an optional sign, holds only what an
// integer strconv.ParseInt accepts with base 0 can hold: digits, hex
// letters and the base prefixes' letters.
func intChars(t string) bool {
	if t != "" && (t[0] == '-' || t[0] == '+') {
		t = t[1:]
	}
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	return true
}

// isYAMLFloat reports whether s matches
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
func isYAMLFloat(s string) bool {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	} else {
		j := digits(i)
		if j == i {
			return false
		}
		i = j
		if i < len(s) && s[i] == '.' {
			i = digits(i + 1)
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}
