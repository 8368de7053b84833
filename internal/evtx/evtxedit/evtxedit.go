// Package evtxedit removes event records from an EVTX file the way log
// editing tools do, for tests of tampering detection: the records are cut
// out of their chunk and the chunk's checksums recomputed, so that the
// chunk stays valid and only the gap in the record identifiers is left.
//
// It is a test tool: it trusts its input to be a well-formed EVTX file and
// is not meant for evidence.
package evtxedit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout of the file and its chunks (see the EVTX format documentation).
const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	recordHeader    = 24
)

var (
	chunkSignature  = []byte("ElfChnk\x00")
	recordSignature = []byte("**\x00\x00")
)

// ErrNotRemovable: the records asked for cannot be removed this way.
var ErrNotRemovable = errors.New("evtxedit: records not removable")

// Removed says what Remove did.
type Removed struct {
	// Chunk is the slot number of the chunk edited.
	Chunk int
	// Tail: the records were the chunk's last, cut by moving its end back;
	// otherwise the record before them absorbed them (DanderSpritz's
	// eventlogedit does this), which keeps every offset in the chunk.
	Tail bool
}

// Remove returns a copy of the EVTX file data without the records whose
// identifiers are first..last, which must be in one chunk and not start
// it (the first record of a chunk has no record before it to absorb it).
//
// Records in the middle of a chunk are absorbed by the record before them:
// its size (at its start and its end) grows over them, so the records after
// them, the templates and names they define and every offset in the chunk
// stay where they are, and a reader sees one record fewer. Records at the
// end of a chunk are cut: the chunk's free space starts where they did,
// their bytes are zeroed and the header's last record identifier, number
// and offset step back. Either way the event records' CRC32 and the
// chunk header's CRC32 are recomputed.
func Remove(data []byte, first, last uint64) ([]byte, Removed, error) {
	if last < first {
		return nil, Removed{}, fmt.Errorf("records %d-%d: %w", first, last, ErrNotRemovable)
	}
	out := bytes.Clone(data)
	for off, i := fileHeaderSize, 0; off+chunkSize <= len(out); off, i = off+chunkSize, i+1 {
		c := out[off : off+chunkSize]
		if !bytes.Equal(c[:8], chunkSignature) {
			continue
		}
		firstID := binary.LittleEndian.Uint64(c[24:])
		lastID := binary.LittleEndian.Uint64(c[32:])
		if first < firstID || first > lastID {
			continue
		}
		if last > lastID {
			return nil, Removed{}, fmt.Errorf("records %d-%d cross the end of chunk %d (%d-%d): %w", first, last, i, firstID, lastID, ErrNotRemovable)
		}
		tail, err := cut(c, first, last)
		if err != nil {
			return nil, Removed{}, fmt.Errorf("chunk %d: %w", i, err)
		}
		return out, Removed{Chunk: i, Tail: tail}, nil
	}
	return nil, Removed{}, fmt.Errorf("no chunk holds record %d: %w", first, ErrNotRemovable)
}

// record is one record's place in its chunk.
type record struct {
	pos, size int
	id        uint64
}

// records lists the records of chunk c.
func records(c []byte) ([]record, error) {
	free := int(binary.LittleEndian.Uint32(c[48:]))
	if free < chunkHeaderSize || free > len(c) {
		return nil, fmt.Errorf("free space offset %d: %w", free, ErrNotRemovable)
	}
	var rs []record
	for pos := chunkHeaderSize; pos+recordHeader <= free; {
		if !bytes.Equal(c[pos:pos+4], recordSignature) {
			break
		}
		size := int(binary.LittleEndian.Uint32(c[pos+4:]))
		if size < recordHeader+4 || pos+size > free {
			return nil, fmt.Errorf("record at 0x%x of size %d: %w", pos, size, ErrNotRemovable)
		}
		rs = append(rs, record{pos: pos, size: size, id: binary.LittleEndian.Uint64(c[pos+8:])})
		pos += size
	}
	return rs, nil
}

// cut removes records first..last from chunk c and fixes its header.
func cut(c []byte, first, last uint64) (tail bool, err error) {
	rs, err := records(c)
	if err != nil {
		return false, err
	}
	from, to := -1, -1 // indexes of the first and last records removed
	for i, r := range rs {
		if r.id == first {
			from = i
		}
		if r.id == last {
			to = i
		}
	}
	switch {
	case from < 0 || to < from:
		return false, fmt.Errorf("records %d-%d not found: %w", first, last, ErrNotRemovable)
	case from == 0:
		return false, fmt.Errorf("record %d starts the chunk: %w", first, ErrNotRemovable)
	}
	put32 := func(at, v int) { binary.LittleEndian.PutUint32(c[at:], uint32(v)) }
	prev := rs[from-1]
	if to == len(rs)-1 {
		// The chunk's last records: its end moves back.
		free := int(binary.LittleEndian.Uint32(c[48:]))
		clear(c[rs[from].pos:free])
		put32(48, rs[from].pos)
		put32(44, prev.pos)
		removed := last - first + 1
		binary.LittleEndian.PutUint64(c[16:], binary.LittleEndian.Uint64(c[16:])-removed)
		binary.LittleEndian.PutUint64(c[32:], prev.id)
		tail = true
	} else {
		// The record before absorbs them.
		size := rs[to+1].pos - prev.pos
		put32(prev.pos+4, size)
		put32(prev.pos+size-4, size)
	}
	free := int(binary.LittleEndian.Uint32(c[48:]))
	binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[chunkHeaderSize:free]))
	crc := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(c[124:], crc)
	return tail, nil
}
