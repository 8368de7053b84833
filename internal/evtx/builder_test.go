package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// chunkBuilder writes a synthetic EVTX chunk for tests: binary XML is
// written in place, so that inline names and templates sit at the offsets
// that reference them, as in real files.
type chunkBuilder struct {
	b       []byte
	names   map[string]int
	firstID uint64
	nextID  uint64
	recs    int
}

func newChunkBuilder(firstID uint64) *chunkBuilder {
	return &chunkBuilder{b: make([]byte, chunkHeaderSize), names: map[string]int{}, firstID: firstID, nextID: firstID}
}

func (c *chunkBuilder) u8(v byte)    { c.b = append(c.b, v) }
func (c *chunkBuilder) u16(v uint16) { c.b = binary.LittleEndian.AppendUint16(c.b, v) }
func (c *chunkBuilder) u32(v uint32) { c.b = binary.LittleEndian.AppendUint32(c.b, v) }
func (c *chunkBuilder) u64(v uint64) { c.b = binary.LittleEndian.AppendUint64(c.b, v) }

func (c *chunkBuilder) utf16(s string) {
	for _, u := range utf16.Encode([]rune(s)) {
		c.u16(u)
	}
}

// name writes a name reference: inline at first use, a back reference later.
func (c *chunkBuilder) name(s string) {
	if off, ok := c.names[s]; ok {
		c.u32(uint32(off))
		return
	}
	off := len(c.b) + 4
	c.names[s] = off
	c.u32(uint32(off))
	c.u32(0)
	c.u16(0)
	c.u16(uint16(len(utf16.Encode([]rune(s)))))
	c.utf16(s)
	c.u16(0)
}

func (c *chunkBuilder) fragment() { c.b = append(c.b, tokFragment, 1, 1, 0) }

// open writes an element start; withAttrs sets the 0x40 flag and writes
// the attribute list size.
func (c *chunkBuilder) open(name string, withAttrs bool) {
	tok := byte(tokOpenStart)
	if withAttrs {
		tok |= tokMoreFlag
	}
	c.u8(tok)
	c.u16(0xffff)
	c.u32(0) // data size, unused by the decoder
	c.name(name)
	if withAttrs {
		c.u32(0)
	}
}

func (c *chunkBuilder) attr(name string) { c.u8(tokAttribute); c.name(name) }
func (c *chunkBuilder) closeStart()      { c.u8(tokCloseStart) }
func (c *chunkBuilder) closeEmpty()      { c.u8(tokCloseEmpty) }
func (c *chunkBuilder) end()             { c.u8(tokEndElement) }
func (c *chunkBuilder) eof()             { c.u8(tokEOF) }

func (c *chunkBuilder) text(s string) {
	c.u8(tokValue)
	c.u8(typeString)
	c.u16(uint16(len(utf16.Encode([]rune(s)))))
	c.utf16(s)
}

func (c *chunkBuilder) sub(idx uint16, typ byte, optional bool) {
	if optional {
		c.u8(tokOptSubst)
	} else {
		c.u8(tokSubst)
	}
	c.u16(idx)
	c.u8(typ)
}

func (c *chunkBuilder) charRef(r uint16)      { c.u8(tokCharRef); c.u16(r) }
func (c *chunkBuilder) entityRef(name string) { c.u8(tokEntityRef); c.name(name) }

func (c *chunkBuilder) cdata(s string) {
	c.u8(tokCDATA)
	c.u16(uint16(len(utf16.Encode([]rune(s)))))
	c.utf16(s)
}

func (c *chunkBuilder) pi(target, data string) {
	c.u8(tokPITarget)
	c.name(target)
	c.u8(tokPIData)
	c.u16(uint16(len(utf16.Encode([]rune(data)))))
	c.utf16(data)
}

// templateDef writes a template instance token with its definition inline
// (body writes the element) and returns the definition's offset.
func (c *chunkBuilder) templateDef(body func()) int {
	c.u8(tokTemplate)
	c.u8(1)
	c.u32(0x1234)
	off := len(c.b) + 4
	c.u32(uint32(off))
	c.u32(0)                               // next definition
	c.b = append(c.b, make([]byte, 16)...) // GUID
	sizeAt := len(c.b)
	c.u32(0)
	start := len(c.b)
	c.fragment()
	body()
	c.eof()
	binary.LittleEndian.PutUint32(c.b[sizeAt:], uint32(len(c.b)-start))
	return off
}

// templateRef writes a template instance token referring back to the
// definition at off.
func (c *chunkBuilder) templateRef(off int) {
	c.u8(tokTemplate)
	c.u8(1)
	c.u32(0x1234)
	c.u32(uint32(off))
}

// val is one substitution value.
type val struct {
	typ  byte
	data []byte
}

func (c *chunkBuilder) values(vs ...val) {
	c.u32(uint32(len(vs)))
	for _, v := range vs {
		c.u16(uint16(len(v.data)))
		c.u8(v.typ)
		c.u8(0)
	}
	for _, v := range vs {
		c.b = append(c.b, v.data...)
	}
}

// valuesBinXML writes vs and, last, a BinXml value that body writes in
// place (its names are offsets in the chunk), patching its size in the
// descriptor afterwards.
func (c *chunkBuilder) valuesBinXML(vs []val, body func()) {
	c.u32(uint32(len(vs) + 1))
	for _, v := range vs {
		c.u16(uint16(len(v.data)))
		c.u8(v.typ)
		c.u8(0)
	}
	sizeAt := len(c.b)
	c.u16(0)
	c.u8(typeBinXML)
	c.u8(0)
	for _, v := range vs {
		c.b = append(c.b, v.data...)
	}
	start := len(c.b)
	body()
	copy(c.b[sizeAt:], u16v(uint16(len(c.b)-start)))
}

// record writes an event record whose binary XML body writes.
func (c *chunkBuilder) record(body func()) {
	start := len(c.b)
	c.b = append(c.b, recordSignature...)
	c.u32(0)
	c.u64(c.nextID)
	c.u64(0)
	body()
	size := len(c.b) + 4 - start
	binary.LittleEndian.PutUint32(c.b[start+4:], uint32(size))
	c.u32(uint32(size))
	c.nextID++
	c.recs++
}

// bytes finishes the chunk: header fields and checksums, padded to 64 KiB.
func (c *chunkBuilder) bytes() []byte {
	free := len(c.b)
	out := make([]byte, chunkSize)
	copy(out, c.b)
	copy(out, chunkSignature)
	last := c.nextID - 1
	binary.LittleEndian.PutUint64(out[8:], c.firstID)
	binary.LittleEndian.PutUint64(out[16:], last)
	binary.LittleEndian.PutUint64(out[24:], c.firstID)
	binary.LittleEndian.PutUint64(out[32:], last)
	binary.LittleEndian.PutUint32(out[40:], 128)
	binary.LittleEndian.PutUint32(out[48:], uint32(free))
	binary.LittleEndian.PutUint32(out[52:], crc32.ChecksumIEEE(out[chunkHeaderSize:free]))
	fixChunkCRC(out)
	return out
}

// fixChunkCRC recomputes a chunk's header checksum.
func fixChunkCRC(b []byte) {
	crc := crc32.ChecksumIEEE(b[:120])
	crc = crc32.Update(crc, crc32.IEEETable, b[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(b[124:], crc)
}

// fixRecordsCRC recomputes a chunk's event records checksum.
func fixRecordsCRC(b []byte) {
	free := binary.LittleEndian.Uint32(b[48:])
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	fixChunkCRC(b)
}

// fileOf returns an EVTX file holding the given chunks.
func fileOf(chunks ...[]byte) []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, fileSignature)
	binary.LittleEndian.PutUint64(h[16:], uint64(max(len(chunks)-1, 0)))
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1)
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], fileHeaderSize)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	for _, c := range chunks {
		h = append(h, c...)
	}
	return h
}

// Little helpers for values.
func u16v(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32v(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64v(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func strv(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// systemTemplate writes a typical event template: System with the usual
// substitutions, then EventData whose body is written by data. Its
// substitutions are:
//
//	0 Provider Name, 1 Provider Guid, 2 EventID, 3 Qualifiers (optional),
//	4 Level, 5 Keywords, 6 TimeCreated, 7 EventRecordID, 8 ActivityID
//	(optional), 9 ProcessID, 10 ThreadID, 11 Channel, 12 Computer,
//	13 UserID (optional)
func (c *chunkBuilder) systemTemplate(data func()) int {
	return c.templateDef(func() {
		c.open("Event", true)
		c.attr("xmlns")
		c.text("http://schemas.microsoft.com/win/2004/08/events/event")
		c.closeStart()
		c.open("System", false)
		c.closeStart()
		c.open("Provider", true)
		c.attr("Name")
		c.sub(0, typeString, true)
		c.attr("Guid")
		c.sub(1, typeGUID, true)
		c.closeEmpty()
		c.open("EventID", true)
		c.attr("Qualifiers")
		c.sub(3, typeUint16, true)
		c.closeStart()
		c.sub(2, typeUint16, false)
		c.end()
		c.open("Level", false)
		c.closeStart()
		c.sub(4, typeUint8, false)
		c.end()
		c.open("Keywords", false)
		c.closeStart()
		c.sub(5, typeHexInt64, false)
		c.end()
		c.open("TimeCreated", true)
		c.attr("SystemTime")
		c.sub(6, typeFileTime, true)
		c.closeEmpty()
		c.open("EventRecordID", false)
		c.closeStart()
		c.sub(7, typeUint64, false)
		c.end()
		c.open("Correlation", true)
		c.attr("ActivityID")
		c.sub(8, typeGUID, true)
		c.closeEmpty()
		c.open("Execution", true)
		c.attr("ProcessID")
		c.sub(9, typeUint32, false)
		c.attr("ThreadID")
		c.sub(10, typeUint32, false)
		c.closeEmpty()
		c.open("Channel", false)
		c.closeStart()
		c.sub(11, typeString, false)
		c.end()
		c.open("Computer", false)
		c.closeStart()
		c.sub(12, typeString, false)
		c.end()
		c.open("Security", true)
		c.attr("UserID")
		c.sub(13, typeSID, true)
		c.closeEmpty()
		c.end() // System
		data()
		c.end() // Event
	})
}

// userDataTemplate writes systemTemplate with a UserData element that
// holds substitution 14, a BinXml value.
func (c *chunkBuilder) userDataTemplate() int {
	return c.systemTemplate(func() {
		c.open("UserData", false)
		c.closeStart()
		c.sub(14, typeBinXML, false)
		c.end()
	})
}

// systemValues returns the values of systemTemplate's substitutions, and
// extra values after them.
func systemValues(recordID uint64, extra ...val) []val {
	guid := []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}
	vs := []val{
		{typeString, strv("Test-Provider")},
		{typeGUID, guid},
		{typeUint16, u16v(4624)},
		{typeNull, nil},
		{typeUint8, []byte{4}},
		{typeHexInt64, u64v(0x8020000000000000)},
		{typeFileTime, u64v(132417126000000000)}, // 2020-08-12T13:30:00Z
		{typeUint64, u64v(recordID)},
		{typeNull, nil},
		{typeUint32, u32v(636)},
		{typeUint32, u32v(4120)},
		{typeString, strv("Security")},
		{typeString, strv("HOST.example")},
		{typeSID, sid},
	}
	return append(vs, extra...)
}
