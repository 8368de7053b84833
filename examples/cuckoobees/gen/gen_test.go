package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/rules"
)

// builtin compiles the built-in rules.
func builtin(t *testing.T) *detect.Engine {
	t.Helper()
	var rs []*sigma.Rule
	err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") || rules.IsTest(p) {
			return err
		}
		data, err := rules.FS.ReadFile(p)
		if err != nil {
			return err
		}
		c := sigma.Parse(data, p)
		if len(c.Errors) > 0 {
			return c.Errors[0]
		}
		rs = append(rs, c.Rules...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, errs := detect.Compile(rs, nil, detect.Options{})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	return eng
}

// TestCommittedFilesAreCurrent checks that the committed evidence is what
// the generator writes.
func TestCommittedFilesAreCurrent(t *testing.T) {
	for _, f := range generate(2022) {
		got, err := os.ReadFile(filepath.Join("..", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from the generator's output: run go run ./examples/cuckoobees/gen", f.name)
		}
		// The intrusion alone, for the operation builder's scenario test.
		got, err = os.ReadFile(filepath.Join("..", "..", "..", "internal", "operation", "testdata", "cuckoobees", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.attackData) {
			t.Errorf("internal/operation/testdata/cuckoobees/%s differs from the generator's output: run go run ./examples/cuckoobees/gen", f.name)
		}
	}
}

// want lists, per file, the rules (by file name) that fire on the intrusion,
// exactly; no rule may fire on the ordinary activity.
var want = map[string][]string{
	"erp01.jsonl": {
		"file_event_win_webshell_written_by_server", "proc_creation_win_webshell_spawns_shell",
		"proc_creation_win_net_recon_privileged_groups", "proc_creation_win_net_recon_shares_sessions",
		"proc_creation_win_nltest_domain_recon", "proc_creation_win_fsutil_drive_enum",
		"proc_creation_win_dsquery_domain_enum", "proc_creation_win_recon_output_to_file",
		"proc_creation_win_wscript_encoded_script", "proc_creation_win_certutil_download",
		"proc_creation_win_certutil_decode", "net_connection_win_lolbin_to_public_ip",
		"proc_creation_win_reg_save_sensitive_hives", "file_event_win_registry_hive_dump_file",
		"proc_creation_win_mimikatz_commandline", "proc_creation_win_rundll32_masquerade_location",
		"proc_creation_win_rundll32_suspicious_invocation",
		"proc_creation_win_winrm_compat_listener_enabled", "proc_creation_win_schtasks_remote_create_system",
		"proc_creation_win_wmic_remote_process_create", "net_connection_win_cli_tool_to_cloud_storage",
		"proc_creation_win_upload_tool_sends_file",
	},
	"fs01.jsonl": {
		"win_security_scheduled_task_system_batch", "win_security_scheduled_task_suspicious_action",
		"file_event_win_executable_written_over_smb",
		"file_event_win_dll_written_to_powershell_folder",
		"image_load_win_dll_from_powershell_folder", "image_load_win_prntvpt_outside_system", "image_load_win_unsigned_dll_in_system_folder",
		"image_load_win_svchost_clfsw32", "file_event_win_clfs_blf_unusual_location",
		"win_system_service_install_kernel_driver", "win_security_service_install_kernel_driver",
		"driver_load_win_unsigned_or_bad_signature", "proc_creation_win_makecab_staging",
		"proc_creation_win_rar_password_archive", "file_event_win_archive_in_staging_folder",
		"proc_creation_win_archiver_split_volumes",
		"proc_creation_win_eventlog_clear_cmdline", "win_security_audit_log_cleared", "win_system_eventlog_cleared",
	},
	"dc01.jsonl": {
		"proc_creation_win_wmiprvse_spawns_shell", "file_event_win_phantom_service_dll_created",
		"image_load_win_phantom_service_dll", "image_load_win_svchost_clfsw32", "proc_creation_win_ntdsutil_ifm_copy",
		"image_load_win_unsigned_dll_in_system_folder",
	},
}

// TestHunt reads the generated evidence with the JSON reader and runs the
// built-in rules over it: every expected rule fires on the intrusion and
// nothing fires on the ordinary activity.
func TestHunt(t *testing.T) {
	eng := builtin(t)
	names := map[string]string{}
	// Building blocks: rules a correlation references by name, which a hunt
	// does not report on their own (they match ordinary logons and tasks).
	ruleNames := map[string]string{} // Sigma name → ID
	referenced := map[string]bool{}
	_ = fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !rules.IsTest(p) {
			data, _ := rules.FS.ReadFile(p)
			c := sigma.Parse(data, p)
			for _, r := range c.Rules {
				names[r.ID] = strings.TrimSuffix(filepath.Base(p), ".yml")
				if r.Name != "" {
					ruleNames[r.Name] = r.ID
				}
			}
			for _, corr := range c.Correlations {
				for _, ref := range corr.Rules {
					referenced[ref] = true
				}
			}
		}
		return nil
	})
	blocks := map[string]bool{}
	for name, id := range ruleNames {
		if referenced[name] || referenced[id] {
			blocks[id] = true
		}
	}
	m := eng.NewMatcher()
	for _, f := range generate(2022) {
		rd := jsonlog.NewReader(bytes.NewReader(f.data), jsonlog.Options{Source: f.name})
		fired := map[string]int{}
		for i := 0; ; i++ {
			ev, err := rd.Next()
			if err == io.EOF {
				if i != len(f.attack) {
					t.Errorf("%s: read %d events, wrote %d", f.name, i, len(f.attack))
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: event %d: %v", f.name, i+1, err)
			}
			for _, d := range m.Match(ev, nil) {
				if blocks[d.Rule.Sigma.ID] {
					continue
				}
				name := names[d.Rule.Sigma.ID]
				if !f.attack[i] {
					t.Errorf("%s line %d: %s fired on ordinary activity", f.name, i+1, name)
				}
				fired[name]++
			}
		}
		var got []string
		for n := range fired {
			got = append(got, n)
		}
		sort.Strings(got)
		for _, n := range want[f.name] {
			if fired[n] == 0 {
				t.Errorf("%s: %s did not fire", f.name, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(want[f.name], n) {
				t.Errorf("%s: %s fired %d times but is not expected", f.name, n, fired[n])
			}
		}
		t.Logf("%s: %d rules fired: %v", f.name, len(got), fired)
	}
}
