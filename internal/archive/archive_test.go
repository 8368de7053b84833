package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

type member struct {
	name string
	data []byte
}

func zipBytes(t testing.TB, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarBytes(t testing.TB, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipBytes(t testing.TB, data ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, d := range data { // one member each
		zw := gzip.NewWriter(&b)
		zw.Write(d)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// readGzip returns the content of a gzip stream and its damage.
func readGzip(data []byte, lim Limits) (content []byte, missing bool, damage, err error) {
	g, err := NewGzip(bytes.NewReader(data), NewBudget(lim))
	if err != nil {
		return nil, false, nil, err
	}
	content, err = io.ReadAll(g)
	return content, g.TrailerMissing(), g.Damage(), err
}

func TestGzip(t *testing.T) {
	text := bytes.Repeat([]byte("event log line\n"), 1000)
	one := gzipBytes(t, text)
	badCRC := bytes.Clone(one)
	badCRC[len(badCRC)-8] ^= 1
	tests := []struct {
		name        string
		data        []byte
		want        []byte
		wantMissing bool
		wantDamage  error
	}{
		{"whole", one, text, false, nil},
		{"two members", gzipBytes(t, text[:20], text[20:]), text, false, nil},
		{"no trailer", one[:len(one)-8], text, true, nil},
		{"trailer cut", one[:len(one)-3], text, true, nil},
		{"deflate cut", one[:len(one)/2], nil, false, ErrCut},
		{"checksum", badCRC, text, false, ErrChecksum},
		{"zero padding", append(bytes.Clone(one), make([]byte, 512)...), text, false, nil},
		{"garbage after", append(bytes.Clone(one), "garbage"...), text, false, ErrTrailing},
		{"second header cut", append(bytes.Clone(one), 0x1f, 0x8b, 8, 0), text, false, ErrCut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, missing, damage, err := readGzip(tc.data, Limits{})
			if err != nil {
				t.Fatalf("read: got %v, want nil", err)
			}
			if tc.want == nil { // cut: a prefix
				if len(got) == 0 || !bytes.HasPrefix(text, got) {
					t.Errorf("content: got %d bytes, want a prefix of the text", len(got))
				}
			} else if !bytes.Equal(got, tc.want) {
				t.Errorf("content: got %d bytes, want %d", len(got), len(tc.want))
			}
			if missing != tc.wantMissing || !errors.Is(damage, tc.wantDamage) {
				t.Errorf("got trailer missing %v, damage %v; want %v, %v", missing, damage, tc.wantMissing, tc.wantDamage)
			}
		})
	}
	if _, err := NewGzip(bytes.NewReader([]byte("PK\x03\x04")), NewBudget(Limits{})); err == nil {
		t.Error("not gzip: got no error, want one")
	}
}

func TestBudget(t *testing.T) {
	zeros := gzipBytes(t, make([]byte, RatioFloor+(1<<20)))
	text := bytes.Repeat([]byte("x"), 10000)
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"ratio", zeros, Limits{}, ErrLimit},
		{"ratio off", zeros, Limits{MaxRatio: -1}, nil},
		{"bytes", gzipBytes(t, text), Limits{MaxBytes: 9999}, ErrLimit},
		{"bytes exact", gzipBytes(t, text), Limits{MaxBytes: 10000}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _, err := readGzip(tc.data, tc.lim)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if tc.want != nil && int64(len(got)) > max(RatioFloor, tc.lim.MaxBytes) {
				t.Errorf("content: got %d bytes, want none past the limit", len(got))
			}
		})
	}
}

func TestZipWalk(t *testing.T) {
	data := zipBytes(t, member{"a.json", []byte("one")}, member{"dir/", nil}, member{"b.json", []byte("two")})
	z, err := OpenZip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = z.Walk(context.Background(), NewBudget(Limits{}), func(e *Entry) error {
		if e.Kind != File {
			got = append(got, e.Name+":dir")
			return nil
		}
		r, err := e.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		got = append(got, e.Name+":"+string(b))
		return err
	})
	want := []string{"a.json:one", "dir/:dir", "b.json:two"}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

func TestTar(t *testing.T) {
	data := tarBytes(t, member{"a", []byte("one")}, member{"b", []byte("two")})
	var got []string
	err := WalkTar(context.Background(), bytes.NewReader(data), NewBudget(Limits{}), func(e *Entry) error {
		r, _ := e.Open()
		b, err := io.ReadAll(r)
		got = append(got, e.Name+":"+string(b))
		return err
	})
	if err != nil || len(got) != 2 || got[1] != "b:two" {
		t.Errorf("got %q, %v; want a:one b:two", got, err)
	}
	err = WalkTar(context.Background(), bytes.NewReader(data[:514]), NewBudget(Limits{}), func(e *Entry) error {
		r, _ := e.Open()
		_, err := io.ReadAll(r)
		return err
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut: got %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{700: "700 B", 16 << 30: "16 GiB", 3 << 19: "1.5 MiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d): got %q, want %q", n, got, want)
		}
	}
}

// TestWalkCutZipHostile checks that local headers whose sizes point
// outside the file end the walk at the member they cut, and that the
// member's content reports the cut (ErrCut) while the callback still
// holds it. Before, zip64 sizes of 2^63 or more became negative, a
// 76-byte zip whose member's size led back to its own header was read
// forever, and a member whose size is not an int64 read whole.
func TestWalkCutZipHostile(t *testing.T) {
	loop := zip64Header(1<<64-52, 24, "ab", 24) // data at 52, next at 52-52 = 0
	if len(loop) != 76 {
		t.Fatalf("fixture: got %d bytes, want 76", len(loop))
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		members int
	}{
		{"76 bytes leading back to the start", loop, 1},
		{"size 2^63", zip64Header(1<<63, 1<<63, "a.json", 40), 1},
		{"size 2^64-1 after a member", append(zip64Header(4, 4, "x", 4), zip64Header(1<<64-1, 5, "y", 10)...), 2},
		{"size past the end", zip64Header(1<<40, 1<<40, "a.json", 10), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				cz      CutZip
				err     error
				damages []error
			}
			done := make(chan result, 1)
			go func() {
				var r result
				r.cz, r.err = WalkCutZip(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)), NewBudget(Limits{}), func(e *Entry) error {
					c, err := e.Open()
					if err != nil {
						return err
					}
					if _, err := io.Copy(io.Discard, c); err != nil {
						return err
					}
					r.damages = append(r.damages, e.Damage())
					return nil
				})
				done <- r
			}()
			select {
			case r := <-done:
				if r.err != nil || r.cz.Stop == nil || r.cz.Members != tc.members {
					t.Fatalf("got %d members, stop %v, error %v; want %d members, stopped at the cut", r.cz.Members, r.cz.Stop, r.err, tc.members)
				}
				if last := r.damages[len(r.damages)-1]; !errors.Is(last, ErrCut) {
					t.Errorf("damage of the member cut: got %v, want %v", last, ErrCut)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still reading after 10 s: the walk does not end")
			}
		})
	}
}
