package jsonlog_test

import (
	"archive/zip"
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// BenchmarkRead reads real OTRF files from memory: a flat nxlog export
// (Sysmon, Security, PowerShell) and a Winlogbeat 6 export.
func BenchmarkRead(b *testing.B) {
	ds := filepath.Join(shared.Dir(b), "datasets", "security-datasets", "datasets")
	inputs := []struct {
		name, archive, member string
	}{
		{"flat", "compound/LSASS_campaign_05/metasploit_sharpdump_lsass_memory_dump.zip", ""},
		{"winlogbeat6", "atomic/windows/defense_evasion/host/empire_enable_rdp.tar.gz", "empire_enable_rdp_2019-05-18203650.json"},
	}
	for _, in := range inputs {
		p := filepath.Join(ds, in.archive)
		var rc io.ReadCloser
		var err error
		if filepath.Ext(p) == ".zip" {
			name := in.member
			if name == "" {
				name = firstZipJSON(b, p)
			}
			rc, err = openZipMember(p, name)
		} else {
			rc, err = openTarMember(p, in.member)
		}
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			events := 0
			for b.Loop() {
				r := jsonlog.NewReader(bytes.NewReader(data), jsonlog.Options{Source: in.name})
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					events++
				}
				r.Close()
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}

func firstZipJSON(b *testing.B, p string) string {
	zr, err := zip.OpenReader(p)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if isJSONMember(f.Name) {
			return f.Name
		}
	}
	b.Fatalf("%s: no JSON member", p)
	return ""
}
