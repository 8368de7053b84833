package evtx

import (
	"strings"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Sections of an event that decide how elements are named as fields.
const (
	secRoot      uint8 = iota // the fragment root: Event, or a nested fragment's root
	secEvent                  // children of Event: System, EventData, UserData, ...
	secSystem                 // inside System
	secEventData              // inside EventData
	secUserData               // inside UserData
	secOther                  // inside another child of Event, named with a prefix
)

// walkCtx is where in an event an element sits, as far as naming goes.
type walkCtx struct {
	sec    uint8
	prefix string // secOther: the section element's name
}

// op is one output field of a compiled fragment: a name and a value made of
// parts (static text or substitutions), emitted unless one of its guards (an
// optional substitution of an enclosing element) is Null.
type op struct {
	name     string
	nameArgs []part // dynamic name (a Name attribute built from substitutions)
	parts    []part
	value    event.Value // the value when parts is a single static text
	guards   []uint16
	child    walkCtx // context for BinXml substitutions in parts
	checked  bool    // the name may repeat: look for an earlier field of the name
	sec      uint8   // section the field belongs to
	hash     uint8   // nameHash(name)
}

// program is a compiled fragment: the fields it produces, in order.
type program struct {
	ops  []op
	cost int // work units compiling it took (elements compiled, names compared)
}

// compile turns a parsed element into a program for the context it appears in.
//
// scratch, when not nil, is reused for building the op list, which is then
// copied to the program at its exact size.
func compile(root *node, ctx walkCtx, scratch *[]op) *program {
	c := compiler{}
	if scratch != nil {
		c.ops = (*scratch)[:0]
	}
	c.element(root, ctx, nil)
	markRepeated(c.ops)
	for i := range c.ops {
		c.ops[i].hash = nameHash(c.ops[i].name)
	}
	cost := c.nodes + len(c.ops)
	if scratch == nil {
		return &program{ops: c.ops, cost: cost}
	}
	*scratch = c.ops
	return &program{ops: append([]op(nil), c.ops...), cost: cost}
}

// markRepeated sets checked on the ops whose name needs a check for
// earlier fields at run time: a static name that repeats, and every
// dynamic name.
func markRepeated(ops []op) {
	if len(ops) <= 64 {
		for i := range ops {
			o := &ops[i]
			if o.nameArgs != nil {
				o.checked = true
				continue
			}
			for j := range ops {
				if j != i && ops[j].nameArgs == nil && ops[j].name == o.name {
					o.checked = true
					break
				}
			}
		}
		return
	}
	// Many ops (a crafted template): count the names instead of comparing
	// every pair.
	static := make(map[string]int, len(ops))
	for i := range ops {
		if ops[i].nameArgs == nil {
			static[ops[i].name]++
		}
	}
	for i := range ops {
		o := &ops[i]
		o.checked = o.nameArgs != nil || static[o.name] > 1
	}
}

// detach returns a copy of p that shares no memory with a chunk's arena,
// for the cross-chunk cache.
func (p *program) detach() *program {
	q := &program{ops: make([]op, len(p.ops))}
	for i, o := range p.ops {
		o.name = strings.Clone(o.name)
		o.nameArgs = detachParts(o.nameArgs)
		o.parts = detachParts(o.parts)
		if o.value.Kind() == event.String {
			o.value = event.StringValue(strings.Clone(o.value.Str()))
		}
		o.child.prefix = strings.Clone(o.child.prefix)
		q.ops[i] = o
	}
	return q
}

// size returns about how many bytes p holds.
func (p *program) size() int {
	n := len(p.ops) * int(unsafe.Sizeof(op{}))
	for i := range p.ops {
		o := &p.ops[i]
		n += len(o.name) + len(o.child.prefix) + 2*len(o.guards) + partsSize(o.parts) + partsSize(o.nameArgs)
		if o.value.Kind() == event.String {
			n += len(o.value.Str())
		}
	}
	return n
}

func partsSize(ps []part) int {
	n := len(ps) * int(unsafe.Sizeof(part{}))
	for i := range ps {
		n += len(ps[i].text)
	}
	return n
}

func detachParts(ps []part) []part {
	if ps == nil {
		return nil
	}
	out := make([]part, len(ps))
	for i, p := range ps {
		p.text = strings.Clone(p.text)
		p.elem = nil // programs never use child elements
		out[i] = p
	}
	return out
}

type compiler struct {
	ops   []op
	sec   uint8 // section of the element being compiled
	nodes int   // elements compiled
}

// containers are System elements whose attributes are the fields.
func isContainer(name string) bool {
	switch name {
	case "Provider", "TimeCreated", "Correlation", "Execution", "Security":
		return true
	}
	return false
}

func isXMLNS(name string) bool {
	return name == "xmlns" || strings.HasPrefix(name, "xmlns:")
}

// add appends an op with the given name and value parts.
func (c *compiler) add(name string, parts []part, guards []uint16, child walkCtx) {
	o := op{name: name, parts: parts, guards: guards, child: child, sec: c.sec}
	if len(parts) == 1 && parts[0].kind == partText {
		o.value = event.StringValue(parts[0].text)
	}
	c.ops = append(c.ops, o)
}

// valueParts returns the text and substitution parts of content.
func valueParts(content []part) []part {
	n := 0
	for i := range content {
		if content[i].kind != partElem {
			n++
		}
	}
	if n == len(content) {
		return content
	}
	if n == 0 {
		return nil
	}
	out := make([]part, 0, n)
	for _, p := range content {
		if p.kind != partElem {
			out = append(out, p)
		}
	}
	return out
}

// elementGuards returns guards extended by the optional substitutions in the
// content of an element without child elements: when one is Null, the
// element is omitted. (In an element with children, an optional
// substitution omits only itself.)
func elementGuards(n *node, guards []uint16) []uint16 {
	if n.hasChildren() {
		return guards
	}
	return partGuards(n.content, guards)
}

// attrGuards returns guards extended by the optional substitutions of an
// attribute.
func attrGuards(a *attr, guards []uint16) []uint16 {
	return partGuards(a.parts, guards)
}

// partGuards returns guards extended by the optional substitutions among
// parts, copying guards before the first.
func partGuards(parts []part, guards []uint16) []uint16 {
	out := guards
	for _, p := range parts {
		if p.kind == partSub && p.optional {
			if len(out) == len(guards) {
				out = append([]uint16(nil), guards...)
			}
			out = append(out, p.sub)
		}
	}
	return out
}

// leaf emits the content of an element as a field named name. An element
// with child elements contributes, in document order, its children and its
// substitutions (usually BinXml, decoded in child context); text between
// child elements is layout.
func (c *compiler) leaf(n *node, name string, guards []uint16, child walkCtx) {
	if !n.hasChildren() {
		c.add(name, valueParts(n.content), guards, child)
		return
	}
	sec := c.sec
	for i := range n.content {
		switch p := &n.content[i]; p.kind {
		case partElem:
			c.element(p.elem, child, guards)
			c.sec = sec
		case partSub:
			g := guards
			if p.optional {
				g = append(append([]uint16(nil), guards...), p.sub)
			}
			c.add(name, n.content[i:i+1], g, child)
		}
	}
}

func (c *compiler) element(n *node, ctx walkCtx, guards []uint16) {
	c.nodes++
	guards = elementGuards(n, guards)
	c.sec = ctx.sec
	switch ctx.sec {
	case secRoot:
		if n.name == "Event" {
			c.leafOrChildren(n, walkCtx{sec: secEvent}, guards)
			return
		}
		c.element(n, walkCtx{sec: secEvent}, guards)
	case secEvent:
		var inner walkCtx
		switch n.name {
		case "System":
			inner = walkCtx{sec: secSystem}
		case "EventData":
			inner = walkCtx{sec: secEventData}
		case "UserData":
			inner = walkCtx{sec: secUserData}
		default:
			inner = walkCtx{sec: secOther, prefix: n.name}
			for i := range n.attrs {
				a := &n.attrs[i]
				if !isXMLNS(a.name) {
					c.add(n.name+"_"+a.name, a.parts, attrGuards(a, guards), inner)
				}
			}
		}
		c.leafOrChildren(n, inner, guards)
	case secSystem:
		for i := range n.attrs {
			a := &n.attrs[i]
			name := a.name
			switch {
			case n.name == "Provider" && name == "Name":
				name = event.FieldProviderName
			case n.name == "Provider" && name == "Guid":
				name = event.FieldProviderGUID
			case n.name == "TimeCreated" && name == "SystemTime":
				name = event.FieldTimeCreated
			case isXMLNS(name):
				continue
			}
			c.add(name, a.parts, attrGuards(a, guards), ctx)
		}
		if n.hasChildren() {
			c.leaf(n, n.name, guards, ctx)
			return
		}
		vp := valueParts(n.content)
		if len(vp) == 0 && (isContainer(n.name) || len(n.attrs) > 0) {
			return
		}
		c.add(n.name, vp, guards, ctx)
	case secEventData:
		if n.name == "Data" {
			name := event.FieldData
			var args []part
			for i := range n.attrs {
				a := &n.attrs[i]
				if a.name != "Name" {
					continue
				}
				if len(a.parts) == 1 && a.parts[0].kind == partText {
					name = a.parts[0].text
				} else if len(a.parts) > 0 {
					args = a.parts
				}
			}
			before := len(c.ops)
			c.leaf(n, name, guards, ctx)
			if args != nil && !n.hasChildren() && len(c.ops) > before {
				c.ops[before].nameArgs = args
			}
			return
		}
		if n.hasChildren() {
			c.leaf(n, n.name, guards, ctx)
			return
		}
		c.add(n.name, valueParts(n.content), guards, ctx)
	case secUserData, secOther:
		prefix := ""
		if ctx.sec == secOther {
			prefix = ctx.prefix + "_"
		}
		name := prefix + n.name
		var args []part
		for i := range n.attrs {
			a := &n.attrs[i]
			if isXMLNS(a.name) {
				continue
			}
			if n.name == "Data" && a.name == "Name" {
				if len(a.parts) == 1 && a.parts[0].kind == partText {
					name = prefix + a.parts[0].text
				} else {
					args = a.parts
				}
				continue
			}
			c.add(prefix+a.name, a.parts, attrGuards(a, guards), ctx)
		}
		before := len(c.ops)
		if n.hasChildren() {
			c.leaf(n, name, guards, ctx)
		} else {
			c.add(name, valueParts(n.content), guards, ctx)
		}
		if args != nil && prefix == "" && !n.hasChildren() && len(c.ops) > before {
			c.ops[before].nameArgs = args
		}
	}
}

// leafOrChildren handles a section element: its children are walked in
// inner context; substitutions directly in it are BinXml in inner context
// (or, when not BinXml, a field named after the element).
func (c *compiler) leafOrChildren(n *node, inner walkCtx, guards []uint16) {
	if n.hasChildren() {
		c.leaf(n, n.name, guards, inner)
		return
	}
	vp := valueParts(n.content)
	if len(vp) > 0 {
		c.add(n.name, vp, guards, inner)
	}
}
