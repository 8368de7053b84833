package rulepkg

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/archive"
)

// FuzzExtract feeds arbitrary archives to extract's reading: check must
// not panic; an archive it accepts has only local member names, and its
// content reads within MaxUnpacked. The work of an input is bounded by its
// size (at most 64 KiB: members and headers come from it) and the limits
// (MaxUnpacked decompressed, MaxEntries members), and it fails past 10 s.
//
// Each input must cost little: the fuzzer minimizes every new input in
// the worker (a number of runs that grows with the square of its size, for
// up to a minute, counting no executions), and at the milliseconds that
// writing files costs, or the stop-the-world of runtime.ReadMemStats and a
// goroutine per run, that stalled the worker for the whole run. So the
// archive is read from memory and nothing is written: os.Root keeps
// writes inside the folder, and the tests of Install cover the writing.
func FuzzExtract(f *testing.F) {
	f.Add(buildZip(f, rules("rules", 0, 1)))
	f.Add(buildZip(f, []member{{name: "version.txt", body: "r2026-01-01"}, {name: "rules/l", link: "../x"}}))
	f.Add(buildTarGz(f, []member{{name: "top/"}, {name: "top/rules/a.yml", body: "title: a"}, {name: "top/rules/l.yml", link: "a.yml"}}))
	f.Add([]byte("PK\x05\x06"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		ctx := context.Background() // t.Context's cancellation at the end made coverage vary
		a := &fetched{ra: bytes.NewReader(data), size: int64(len(data))}
		opts := Options{MaxUnpacked: 1 << 20, MaxFile: 1 << 16, MaxEntries: 1000}
		opts.defaults()

		start := time.Now()
		func() {
			if _, err := a.check(ctx, &opts); err != nil {
				return
			}
			var read int64
			a.walk(ctx, &opts, func(e *archive.Entry) error {
				if _, err := localName(e.Name); err != nil {
					t.Errorf("accepted member name %q: %v", e.Name, err)
				}
				if e.Kind != archive.File {
					return nil
				}
				r, err := e.Open()
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, r)
				if read += n; read > opts.MaxUnpacked {
					t.Errorf("read %d bytes, past MaxUnpacked %d", read, opts.MaxUnpacked)
				}
				return err
			})
		}()
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("read in %v, want at most 10 s", d)
		}
	})
}
