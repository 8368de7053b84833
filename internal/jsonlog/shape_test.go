package jsonlog_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestSysmonAcrossShapes reads a Sysmon process creation (EventID 1) from a
// Winlogbeat 6 file, two flat files (nxlog, and a later OTRF export) and an
// evtx_dump rendering: the fields rules use must be there, under the same
// names, with the same kinds.
func TestSysmonAcrossShapes(t *testing.T) {
	dir := shared.Dir(t)
	ds := "datasets/security-datasets/datasets/atomic/windows/"
	tests := []struct {
		shape, archive, member string
		lacks                  []string // System fields the exporter left out
	}{
		{"winlogbeat 6", ds + "defense_evasion/host/empire_enable_rdp.tar.gz", "empire_enable_rdp_2019-05-18203650.json", nil},
		{"flat nxlog", ds + "collection/host/msf_record_mic.zip", "msf_record_mic_2020-06-09225055.json", nil},
		{"flat", ds + "defense_evasion/host/cmd_process_herpaderping_snippingtool.zip", "cmd_process_herpaderping_snippingtool_2020-10-2708290130.json",
			[]string{"EventRecordID", "ProcessID", "ThreadID", "UserID"}},
		{"evtx_dump", "", "datasets/sigma/regression_data/rules/windows/process_creation/proc_creation_win_cmd_dir_execution/7c9340a9-e2ee-4e43-94c5-c54ebbea1006.json", nil},
	}
	want := map[string]event.Kind{
		"EventID":           event.Int,
		"Channel":           event.String,
		"Computer":          event.String,
		"Provider_Name":     event.String,
		"TimeCreated":       event.Time,
		"EventRecordID":     event.Int,
		"ProcessID":         event.Int,
		"ThreadID":          event.Int,
		"UserID":            event.String,
		"Image":             event.String,
		"CommandLine":       event.String,
		"ParentImage":       event.String,
		"ParentCommandLine": event.String,
		"User":              event.String,
		"Hashes":            event.String,
		"ProcessGuid":       event.String,
		"IntegrityLevel":    event.String,
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			var ev *event.Event
			find := func(e *event.Event) {
				if ev == nil && e.Lookup("EventID").Int() == 1 && e.Lookup("Channel").Str() == "Microsoft-Windows-Sysmon/Operational" {
					ev = e.Clone()
				}
			}
			var open func() (io.ReadCloser, error)
			switch filepath.Ext(tt.archive) {
			case ".zip":
				open = func() (io.ReadCloser, error) {
					return openZipMember(filepath.Join(dir, tt.archive), tt.member)
				}
			case ".gz":
				open = func() (io.ReadCloser, error) {
					return openTarMember(filepath.Join(dir, tt.archive), tt.member)
				}
			default:
				open = func() (io.ReadCloser, error) {
					return os.Open(filepath.Join(dir, tt.member))
				}
			}
			rc, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			readAll(t, tt.shape, rc, find)
			if ev == nil {
				t.Fatal("no Sysmon EventID 1 in the file")
			}
			for name, kind := range want {
				v, ok := ev.Get(name)
				if slices.Contains(tt.lacks, name) {
					if ok {
						t.Errorf("%s: got %s, want none (not in this export)", name, v.Text())
					}
					continue
				}
				if !ok {
					t.Errorf("%s: missing", name)
					continue
				}
				if v.Kind() != kind {
					t.Errorf("%s: got kind %v (%s), want %v", name, v.Kind(), v.Text(), kind)
				}
			}
			if p := ev.Lookup("Provider_Name").Str(); p != "Microsoft-Windows-Sysmon" {
				t.Errorf("Provider_Name: got %q, want Microsoft-Windows-Sysmon", p)
			}
			seen := map[string]bool{}
			for _, f := range ev.Fields {
				if seen[f.Name] {
					t.Errorf("name %s appears twice", f.Name)
				}
				seen[f.Name] = true
			}
		})
	}
}
