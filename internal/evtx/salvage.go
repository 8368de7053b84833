package evtx

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// Salvage and carving: records read without the guarantees of a checked
// chunk. A record is taken wherever its own header is consistent (the
// record signature, a size of at least a minimal record that fits in the
// area, the same size repeated in the record's last four bytes) and its
// binary XML decodes, templates and names resolved against the chunk it
// sits in.

// salvageChunk reads the records of a chunk that failed its checks (err)
// but has a header, up to the end of the records the header claims (the
// whole chunk when that offset is impossible or past the data read), and
// reports one skip saying how many records were recovered and lost. It
// returns the offset where the claimed records end.
func (d *decoder) salvageChunk(h chunkHeader, err error) int {
	end := len(d.data)
	if h.freeOffset >= chunkHeaderSize && h.freeOffset <= end {
		end = h.freeOffset
	}
	got, broken, bad, stop := d.salvage(chunkHeaderSize, end, false)
	lost := broken + bad
	if n := h.records(); n > 0 {
		lost = max(n-got, 0)
	}
	if stop != nil {
		err = fmt.Errorf("%w; then %w", err, stop)
	}
	d.skip(d.chunkWhere(), lost, fmt.Errorf("%d records recovered, %d lost: %w", got, lost, err))
	if got > 0 {
		d.res.salvaged = true
	} else {
		d.res.skipped = true
	}
	return end
}

// carve reads the records found in the chunk's bytes from offset from to
// the end, marked carved. Those whose header is whole but that do not
// decode (most often their template, from the chunk's earlier life, was
// overwritten) are counted in one skip; record signatures without a
// consistent header (records partly overwritten) are not. Records whose
// identifier a live chunk holds are copies, left out (chunkResult.copies).
func (d *decoder) carve(from int) {
	if from < 0 || from >= len(d.data) {
		return
	}
	got, _, bad, stop := d.salvage(from, len(d.data), true)
	d.res.carved += got
	if bad > 0 || stop != nil {
		cause := ErrCarve
		if stop != nil {
			cause = stop
		}
		d.skip(fmt.Sprintf("%s, carving from offset 0x%x", d.chunkWhere(), d.res.offset+int64(from)), bad,
			fmt.Errorf("%d records carved, %d dropped: %w", got, bad, cause))
	}
}

// carveSlot carves a chunk slot that holds no chunk (its header
// overwritten, or slack after the last chunk), as if it were a chunk
// without header.
func (d *decoder) carveSlot(res *chunkResult) {
	d.begin(res)
	defer d.recoverPanic()
	d.carve(0)
}

// salvage decodes, one by one, the records found in d.data[start:end]
// whose header is consistent. It returns how many it decoded, how many
// record signatures it met without a consistent header (broken) and how
// many records with one it could not decode (bad). It stops at the first
// record that takes the chunk over its budget, returned as stop: every
// record after it would fail the same way.
func (d *decoder) salvage(start, end int, carved bool) (got, broken, bad int, stop error) {
	data := d.data
	pos := start
	for pos+minRecordSize <= end {
		if !bytes.Equal(data[pos:pos+4], recordSignature) {
			i := bytes.Index(data[pos+1:end], recordSignature)
			if i < 0 {
				break
			}
			pos += 1 + i
			continue
		}
		size := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if size < minRecordSize || size > end-pos || int(binary.LittleEndian.Uint32(data[pos+size-4:])) != size {
			broken++
			pos++
			continue
		}
		id := binary.LittleEndian.Uint64(data[pos+8:])
		if carved && isLive(d.res.live, id) {
			d.res.copies++
			pos += size
			continue
		}
		if err := d.record(pos, size); err != nil {
			if errors.As(err, new(*budgetError)) {
				return got, broken, bad, fmt.Errorf("record %d at offset 0x%x: %w", id, d.res.offset+int64(pos), err)
			}
			bad++
			pos++
			continue
		}
		d.res.items = append(d.res.items, item{start: int32(d.recStart), end: int32(len(d.res.fields)), id: id, carved: carved})
		got++
		pos += size
	}
	return got, broken, bad, nil
}

// idRange is a range of record identifiers, first and last included.
type idRange struct{ first, last uint64 }

// liveRanges reads the header of every chunk slot of the file and returns
// the record identifiers of the chunks whose header checks, sorted and
// merged. A slot that cannot be read is left out (its chunk is reported
// when it is decoded).
func liveRanges(r io.ReaderAt, base int64, slots int) []idRange {
	var live []idRange
	b := make([]byte, chunkHeaderSize)
	for i := range slots {
		if n, _ := r.ReadAt(b, base+int64(i)*chunkSize); n < chunkHeaderSize || !bytes.Equal(b[:8], chunkSignature) {
			continue
		}
		h := parseChunkHeader(b)
		crc := crc32.ChecksumIEEE(b[:120])
		if crc32.Update(crc, crc32.IEEETable, b[128:chunkHeaderSize]) != h.headerCRC || h.records() == 0 {
			continue
		}
		live = append(live, idRange{h.firstID, h.lastID})
	}
	slices.SortFunc(live, func(a, b idRange) int { return cmp.Compare(a.first, b.first) })
	merged := live[:0]
	for _, g := range live {
		if n := len(merged); n > 0 && (g.first <= merged[n-1].last || g.first-1 == merged[n-1].last) {
			merged[n-1].last = max(merged[n-1].last, g.last)
			continue
		}
		merged = append(merged, g)
	}
	return merged
}

// isLive reports whether id is in one of the sorted, disjoint ranges.
func isLive(live []idRange, id uint64) bool {
	_, found := slices.BinarySearchFunc(live, id, func(g idRange, id uint64) int {
		switch {
		case g.last < id:
			return -1
		case g.first > id:
			return 1
		}
		return 0
	})
	return found
}
