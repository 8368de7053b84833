package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	got, broken, bad := d.salvage(chunkHeaderSize, end, false)
	lost := broken + bad
	if n := h.records(); n > 0 {
		lost = max(n-got, 0)
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
// consistent header (records partly overwritten) are not.
func (d *decoder) carve(from int) {
	if from < 0 || from >= len(d.data) {
		return
	}
	got, _, bad := d.salvage(from, len(d.data), true)
	d.res.carved += got
	if bad > 0 {
		d.skip(fmt.Sprintf("%s, carving from offset 0x%x", d.chunkWhere(), d.res.offset+int64(from)), bad,
			fmt.Errorf("%d records carved, %d dropped: %w", got, bad, ErrCarve))
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
// many records with one it could not decode (bad).
func (d *decoder) salvage(start, end int, carved bool) (got, broken, bad int) {
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
		if err := d.record(pos, size); err != nil {
			bad++
			pos++
			continue
		}
		id := binary.LittleEndian.Uint64(data[pos+8:])
		d.res.items = append(d.res.items, item{start: int32(d.recStart), end: int32(len(d.res.fields)), id: id, carved: carved})
		got++
		pos += size
	}
	return got, broken, bad
}
