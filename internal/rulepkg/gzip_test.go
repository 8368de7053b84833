package rulepkg

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"testing"
)

// TestTarGzChecksum checks that a tar.gz whose gzip trailer does not match
// its content is refused, also when the tar ends before the gzip data does
// (tar's zero padding to a 10 KiB record, as GNU tar and git archive
// write it). Before, the checksum was checked only when the tar reader
// happened to read the gzip data to its end.
func TestTarGzChecksum(t *testing.T) {
	for _, pad := range []int{0, 8 << 10} {
		tgz := buildTarGz(t, []member{{name: "top/"}, {name: "top/rules/a.yml", body: "title: a"}})
		zr, err := gzip.NewReader(bytes.NewReader(tgz))
		if err != nil {
			t.Fatal(err)
		}
		var tarData bytes.Buffer
		if _, err := tarData.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		tarData.Write(make([]byte, pad))
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(tarData.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		data[len(data)-5] ^= 0xff // the trailer's CRC-32
		a := &fetched{ra: bytes.NewReader(data), size: int64(len(data))}
		opts := Options{}
		opts.defaults()
		if _, err := a.check(context.Background(), &opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("padding %d: got %v, want %v (checksum mismatch)", pad, err, ErrInvalid)
		}
	}
}
