package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// ChunkInfo is what a chunk header says of the records it holds.
type ChunkInfo struct {
	// Index is the chunk's slot number in the file; Offset its position.
	Index  int
	Offset int64
	// FirstID and LastID are the record identifiers the header claims.
	FirstID, LastID uint64
}

// Chunks reads the chunk headers of the EVTX file in r, of the given size,
// and returns those whose signature and header CRC32 check, in file order.
// It reads 512 bytes per chunk slot and nothing else: what a record-level
// check (such as a gap in the identifiers) needs to place a record in its
// chunk. A file whose header is damaged, or a bare chunk, is read from its
// first chunk signature. A read error is returned with the chunks read.
func Chunks(r io.ReaderAt, size int64) ([]ChunkInfo, error) {
	base := int64(fileHeaderSize)
	head := make([]byte, chunkHeaderSize)
	n, err := r.ReadAt(head[:min(int64(len(head)), max(size, 0))], 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read file header: %w", err)
	}
	switch {
	case n >= 8 && bytes.Equal(head[:8], chunkSignature):
		base = 0
	case n < 8 || !bytes.Equal(head[:8], fileSignature):
		b, err := findChunk(r, size)
		if err != nil {
			return nil, err
		}
		if b < 0 {
			return nil, nil
		}
		base = b
	}
	var out []ChunkInfo
	for off, i := base, 0; off+chunkHeaderSize <= size; off, i = off+chunkSize, i+1 {
		c, ok, err := readChunkInfo(r, head, base, i)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// ChunkAt reads the header of chunk slot i of the EVTX file in r, which
// starts with its file header; ok is false when the slot holds no chunk
// whose signature and header CRC32 check (an unused slot, one being
// written, garbage, or past the end of the file).
func ChunkAt(r io.ReaderAt, i int) (c ChunkInfo, ok bool, err error) {
	if i < 0 {
		return ChunkInfo{}, false, nil
	}
	return readChunkInfo(r, make([]byte, chunkHeaderSize), fileHeaderSize, i)
}

// readChunkInfo reads the header of chunk slot i of chunk slots from base into
// head (chunkHeaderSize bytes).
func readChunkInfo(r io.ReaderAt, head []byte, base int64, i int) (ChunkInfo, bool, error) {
	off := base + int64(i)*chunkSize
	if n, err := r.ReadAt(head, off); err != nil && (err != io.EOF || n < len(head)) {
		if err == io.EOF {
			return ChunkInfo{}, false, nil
		}
		return ChunkInfo{}, false, fmt.Errorf("read chunk %d at offset 0x%x: %w", i, off, err)
	}
	if !bytes.Equal(head[:8], chunkSignature) {
		return ChunkInfo{}, false, nil
	}
	h := parseChunkHeader(head)
	crc := crc32.Update(crc32.ChecksumIEEE(head[:120]), crc32.IEEETable, head[128:chunkHeaderSize])
	if crc != h.headerCRC {
		return ChunkInfo{}, false, nil
	}
	return ChunkInfo{Index: i, Offset: off, FirstID: h.firstID, LastID: binary.LittleEndian.Uint64(head[32:])}, true, nil
}
