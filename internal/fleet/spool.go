package fleet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spoor-hunt/spoor/internal/outfile"
)

// The spool: batches a collector read while the server was away, kept on
// its disk until the server takes them (spoor ship --buffer). Each batch
// is one file of the spool folder, written whole and synced (outfile)
// before the bookmark moves past its events, named by a sequence number
// so that batches are published again in the order they were read, with
// their message ids, and removed once acknowledged.
//
//	file = "SPS" version(1) subject(string) msg-id(string) events(uvarint)
//	       message(string) crc32(4 bytes little-endian, of all before it)
//	string = uvarint length, bytes

const (
	spoolMagic   = "SPS"
	spoolVersion = 1
	spoolExt     = ".spool"
	// maxSpoolHead bounds a spool file's subject and message id together.
	maxSpoolHead = 4 << 10
)

// errSpool: a spool file that is not one (wrapped with where and why).
var errSpool = errors.New("bad spool file")

// spooled is one batch in the spool.
type spooled struct {
	name    string // file name in the spool folder
	size    int64  // of the file
	subject string
	id      string // message id
	events  int64
}

// spool is the spool folder of a collector and what it holds, oldest
// first. It is for one goroutine.
type spool struct {
	dir   string
	limit int64
	items []spooled
	ids   map[string]bool // message ids spooled
	bytes int64
	nev   int64  // events spooled
	seq   uint64 // of the next file
}

// openSpool opens the spool folder dir (made when missing) of at most
// limit bytes, and lists the batches an earlier run left there; files
// that are not spool files are renamed aside (damaged) and returned.
func openSpool(dir string, limit int64) (*spool, []string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	sp := &spool{dir: dir, limit: limit, ids: map[string]bool{}}
	var damaged []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), spoolExt+".tmp-") {
			// One being written when the collector was killed: never
			// renamed, its batch is read again from the bookmark.
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		stem, ok := strings.CutSuffix(e.Name(), spoolExt)
		seq, err := strconv.ParseUint(stem, 16, 64)
		if !ok || err != nil || !e.Type().IsRegular() {
			continue
		}
		it, err := sp.head(e.Name())
		if err != nil {
			damaged = append(damaged, sp.setAside(e.Name(), err))
			continue
		}
		sp.items = append(sp.items, it)
		sp.ids[it.id] = true
		sp.bytes += it.size
		sp.nev += it.events
		sp.seq = max(sp.seq, seq+1)
	}
	slices.SortFunc(sp.items, func(a, b spooled) int { return strings.Compare(a.name, b.name) })
	return sp, damaged, nil
}

// head reads what the spool keeps in memory of the file name.
func (sp *spool) head(name string) (spooled, error) {
	fh, err := os.Open(filepath.Join(sp.dir, name))
	if err != nil {
		return spooled{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return spooled{}, err
	}
	b := make([]byte, min(fi.Size(), maxSpoolHead+64))
	if _, err := io.ReadFull(fh, b); err != nil {
		return spooled{}, err
	}
	d := decoder{s: string(b)}
	it := spooled{name: name, size: fi.Size()}
	if err := spoolHead(&d, &it); err != nil {
		return spooled{}, err
	}
	return it, nil
}

// spoolHead decodes a spool file's header, up to its message, into it.
func spoolHead(d *decoder, it *spooled) error {
	if len(d.s) < len(spoolMagic)+1 || d.s[:len(spoolMagic)] != spoolMagic {
		return fmt.Errorf("%w: no spool header", errSpool)
	}
	if v := d.s[len(spoolMagic)]; v != spoolVersion {
		return fmt.Errorf("%w: version %d, this spoor reads %d", errSpool, v, spoolVersion)
	}
	d.off = len(spoolMagic) + 1
	it.subject = d.str()
	it.id = d.str()
	n := d.uvarint()
	if d.err == nil && n > 1<<20 {
		d.fail(fmt.Sprintf("%d events", n))
	}
	it.events = int64(n)
	if d.err != nil {
		return fmt.Errorf("%w: %v", errSpool, d.err)
	}
	if it.subject == "" || it.id == "" {
		return fmt.Errorf("%w: no subject or message id", errSpool)
	}
	return nil
}

// decodeSpooled decodes a whole spool file: its batch and the message.
func decodeSpooled(b []byte) (spooled, []byte, error) {
	if len(b) < 4 {
		return spooled{}, nil, fmt.Errorf("%w: %d bytes", errSpool, len(b))
	}
	body := b[:len(b)-4]
	if sum, stored := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(b[len(b)-4:]); sum != stored {
		return spooled{}, nil, fmt.Errorf("%w: CRC32 0x%08x, stored 0x%08x", errSpool, sum, stored)
	}
	d := decoder{s: string(body)}
	var it spooled
	if err := spoolHead(&d, &it); err != nil {
		return spooled{}, nil, err
	}
	msg := d.str()
	if d.err == nil && d.left() != 0 {
		d.fail(fmt.Sprintf("%d bytes after the message", d.left()))
	}
	if d.err != nil {
		return spooled{}, nil, fmt.Errorf("%w: %v", errSpool, d.err)
	}
	it.size = int64(len(b))
	return it, []byte(msg), nil
}

// encodeSpooled returns the spool file of the batch msg.
func encodeSpooled(subject, id string, events int, msg []byte) []byte {
	b := make([]byte, 0, len(msg)+len(subject)+len(id)+32)
	b = append(b, spoolMagic...)
	b = append(b, spoolVersion)
	b = appendString(b, subject)
	b = appendString(b, id)
	b = binary.AppendUvarint(b, uint64(events))
	b = binary.AppendUvarint(b, uint64(len(msg)))
	b = append(b, msg...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// size is what the spool file of msg takes, near enough.
func spoolSize(subject, id string, msg []byte) int64 {
	return int64(len(msg) + len(subject) + len(id) + 32)
}

// fits reports whether a batch of n bytes fits in the spool.
func (sp *spool) fits(n int64) bool { return sp.bytes+n <= sp.limit }

// add writes the batch msg to the spool, synced; a batch of a message id
// spooled already is not written again (a window read again after a
// restart).
func (sp *spool) add(subject, id string, events int, msg []byte) error {
	if len(subject) > maxSpoolHead/2 || len(id) > maxSpoolHead/2 {
		return fmt.Errorf("spool: subject or message id too long")
	}
	if sp.ids[id] {
		return nil
	}
	b := encodeSpooled(subject, id, events, msg)
	name := fmt.Sprintf("%016x%s", sp.seq, spoolExt)
	if err := outfile.Write(filepath.Join(sp.dir, name), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sp.seq++
	sp.items = append(sp.items, spooled{name: name, size: int64(len(b)), subject: subject, id: id, events: int64(events)})
	sp.ids[id] = true
	sp.bytes += int64(len(b))
	sp.nev += int64(events)
	return nil
}

// maxSpoolFile bounds a spool file read back.
const maxSpoolFile = MaxMessage + maxSpoolHead + 64

// first reads the oldest batch back.
func (sp *spool) first() (spooled, []byte, error) {
	it := sp.items[0]
	p := filepath.Join(sp.dir, it.name)
	fh, err := os.Open(p)
	if err != nil {
		return it, nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSpoolFile+1))
	if err == nil && len(b) > maxSpoolFile {
		err = fmt.Errorf("%w: larger than %d bytes", errSpool, maxSpoolFile)
	}
	if err != nil {
		return it, nil, err
	}
	got, msg, err := decodeSpooled(b)
	if err == nil && (got.id != it.id || got.subject != it.subject) {
		err = fmt.Errorf("%w: changed since it was listed", errSpool)
	}
	return it, msg, err
}

// pop removes the oldest batch (acknowledged, or set aside).
func (sp *spool) pop() error {
	it := sp.items[0]
	sp.items = sp.items[1:]
	delete(sp.ids, it.id)
	sp.bytes -= it.size
	sp.nev -= it.events
	if err := os.Remove(filepath.Join(sp.dir, it.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// setAside renames the spool file name, which err says is damaged, so
// that it is neither replayed nor lost from sight, and returns a line
// saying so.
func (sp *spool) setAside(name string, err error) string {
	p := filepath.Join(sp.dir, name)
	os.Rename(p, p+".damaged")
	return fmt.Sprintf("%s: %v (renamed %s.damaged; its events are not shipped)", p, err, name)
}

// events is how many events the spool holds.
func (sp *spool) events() int64 { return sp.nev }
