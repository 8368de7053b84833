package rules

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// This file checks the built-in rule set under go test (spoor rules test runs
// the same test files as a product feature): every rule loads cleanly and
// carries the metadata we promise, every rule has a test file in the format
// of README.md, the CuckooBees chain is covered, and every test case gives
// exactly its expected detections through the real engine and the default
// logsource pipeline.

// loaded is one rule file.
type loaded struct {
	path string
	rule *sigma.Rule
}

// testFile is a rule test file (see README.md).
type testFile struct {
	Rules []string   `yaml:"rules"`
	Cases []testCase `yaml:"cases"`
}

type testCase struct {
	Name       string    `yaml:"name"`
	Event      yaml.Node `yaml:"event"`
	Detections []string  `yaml:"detections"`
}

func files(t *testing.T) (rules, tests []string) {
	t.Helper()
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return nil
		}
		if IsTest(p) {
			tests = append(tests, p)
		} else if isCorrelation(p) {
			// Correlation rules span many events: a one-event test file
			// cannot express them (see correlation_test.go).
		} else {
			rules = append(rules, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rules, tests
}

// loadRule parses one rule file and fails the test on any error or warning.
func loadRule(t *testing.T, p string) *sigma.Rule {
	t.Helper()
	data, err := FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c := sigma.Parse(data, p)
	for _, e := range c.Errors {
		t.Errorf("%s: %v (warning %v)", p, e, e.Warning)
	}
	if len(c.Rules) != 1 || len(c.Correlations) != 0 || len(c.Filters) != 0 {
		t.Fatalf("%s: got %d rules, %d correlations, %d filters, want exactly one rule",
			p, len(c.Rules), len(c.Correlations), len(c.Filters))
	}
	return c.Rules[0]
}

func loadAll(t *testing.T) map[string]*loaded {
	t.Helper()
	rs, _ := files(t)
	m := map[string]*loaded{}
	for _, p := range rs {
		m[p] = &loaded{path: p, rule: loadRule(t, p)}
	}
	return m
}

var (
	uuidV4     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	techTag    = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)
	tacticTags = map[string]bool{
		"attack.reconnaissance": true, "attack.resource-development": true,
		"attack.initial-access": true, "attack.execution": true, "attack.persistence": true,
		"attack.privilege-escalation": true, "attack.defense-evasion": true,
		"attack.credential-access": true, "attack.discovery": true,
		"attack.lateral-movement": true, "attack.collection": true,
		"attack.command-and-control": true, "attack.exfiltration": true, "attack.impact": true,
	}
	fileName = regexp.MustCompile(`^[a-z0-9_]{10,70}\.yml$`)
)

func TestRuleMetadata(t *testing.T) {
	all := loadAll(t)
	if len(all) < 45 {
		t.Errorf("got %d rules, want at least 45", len(all))
	}
	ids := map[string]string{}
	for p, l := range all {
		r := l.rule
		if !uuidV4.MatchString(r.ID) {
			t.Errorf("%s: id %q is not a lower-case UUIDv4", p, r.ID)
		}
		if other, dup := ids[r.ID]; dup {
			t.Errorf("%s: id %s already used by %s", p, r.ID, other)
		}
		ids[r.ID] = p
		if r.Title == "" || r.Description == "" {
			t.Errorf("%s: title and description are required", p)
		}
		if !slices.Contains([]string{"experimental", "test", "stable"}, r.Status) {
			t.Errorf("%s: status %q, want experimental, test or stable", p, r.Status)
		}
		if !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, r.Level) {
			t.Errorf("%s: level %q", p, r.Level)
		}
		if r.Author != "spoor project" || !validDate(r.Date) {
			t.Errorf("%s: author %q date %q", p, r.Author, r.Date)
		}
		if len(r.References) == 0 || len(r.FalsePositives) == 0 {
			t.Errorf("%s: references and falsepositives are required", p)
		}
		var tech, tactic bool
		for _, tag := range r.Tags {
			switch {
			case techTag.MatchString(tag):
				tech = true
			case tacticTags[tag]:
				tactic = true
			default:
				t.Errorf("%s: tag %q is neither an ATT&CK tactic nor a technique", p, tag)
			}
		}
		if !tech || !tactic {
			t.Errorf("%s: want at least one attack.<tactic> and one attack.tNNNN tag, got %v", p, r.Tags)
		}
		if r.Logsource.Product != "windows" {
			t.Errorf("%s: logsource product %q", p, r.Logsource.Product)
		}
		if !fileName.MatchString(path.Base(p)) {
			t.Errorf("%s: file name must be 10-70 lower-case letters, digits or _ plus .yml", p)
		}
	}
}

// validDate reports whether d is a date in Sigma's YYYY-MM-DD form.
func validDate(d string) bool {
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}

// readTest parses a test file.
func readTest(t *testing.T, p string) *testFile {
	t.Helper()
	data, err := FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var tf testFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return &tf
}

func TestEveryRuleHasTests(t *testing.T) {
	all := loadAll(t)
	_, tests := files(t)
	for p := range all {
		tp := strings.TrimSuffix(p, ".yml") + TestSuffix
		if !slices.Contains(tests, tp) {
			t.Errorf("%s: no test file %s", p, tp)
		}
	}
	for _, tp := range tests {
		tf := readTest(t, tp)
		own := strings.TrimSuffix(path.Base(tp), TestSuffix) + ".yml"
		if !slices.Contains(tf.Rules, own) {
			t.Errorf("%s: does not test its own rule %s", tp, own)
		}
		ids := map[string]bool{}
		processCreation := false
		for _, rf := range tf.Rules {
			l, ok := all[path.Join(path.Dir(tp), rf)]
			if !ok {
				t.Errorf("%s: rule file %s not found", tp, rf)
				continue
			}
			ids[l.rule.ID] = true
			processCreation = processCreation || l.rule.Logsource.Category == "process_creation"
		}
		var pos, neg int
		security4688 := false
		for _, c := range tf.Cases {
			if c.Name == "" {
				t.Errorf("%s: a case has no name", tp)
			}
			if c.Event.Kind != yaml.MappingNode {
				t.Errorf("%s: case %q: event is not a map", tp, c.Name)
			}
			for _, id := range c.Detections {
				if !ids[id] {
					t.Errorf("%s: case %q: %s is not the id of a rule under test", tp, c.Name, id)
				}
			}
			if len(c.Detections) == 0 {
				neg++
				continue
			}
			pos++
			ev := toEvent(t, &c.Event)
			if ev.Lookup("Channel").Str() == "Security" && ev.Lookup("EventID").Int() == 4688 {
				security4688 = true
			}
		}
		if pos < 2 || neg < 2 {
			t.Errorf("%s: %d positive and %d negative cases, want at least 2 of each", tp, pos, neg)
		}
		if processCreation && !security4688 {
			t.Errorf("%s: process_creation rules need a positive case in the Security 4688 shape", tp)
		}
	}
}

// toEvent turns a test case's event map into an event with typed values:
// YAML integers become Int, floats Float, booleans Bool, timestamps Time,
// null Null and everything else (quoted or not) String; a list becomes a
// List.
func toEvent(t *testing.T, n *yaml.Node) *event.Event {
	t.Helper()
	ev := &event.Event{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		ev.Add(n.Content[i].Value, toValue(t, n.Content[i+1]))
	}
	return ev
}

func toValue(t *testing.T, n *yaml.Node) event.Value {
	t.Helper()
	if n.Kind == yaml.SequenceNode {
		vs := make([]event.Value, len(n.Content))
		for i, c := range n.Content {
			vs[i] = toValue(t, c)
		}
		return event.ListValue(vs)
	}
	if n.Kind != yaml.ScalarNode {
		t.Fatalf("line %d: event values are scalars or lists", n.Line)
	}
	switch n.ShortTag() {
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.IntValue(i)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.FloatValue(f)
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.BoolValue(b)
	case "!!null":
		return event.Value{}
	case "!!timestamp":
		var tm time.Time
		if err := n.Decode(&tm); err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.TimeValue(tm)
	}
	return event.StringValue(n.Value)
}

// chain is the CuckooBees / APT41 intrusion chain of the project's threat
// intelligence notes (threat-intel.md section 1.3, every row with a Windows
// observable), each step with the ids of the built-in rules that detect it.
var chain = []struct {
	step  int
	name  string
	rules []string
}{
	{1, "Exploit public-facing ERP/web app", []string{
		"82f7902b-6b94-4bed-9d4a-8abc3f4fb6d9", // proc_creation_win_webshell_spawns_shell
	}},
	{2, "Web shell on the ERP server (JSP)", []string{
		"30cb4da5-2618-4306-a85c-6001ca2220b1", // file_event_win_webshell_written_by_server
		"82f7902b-6b94-4bed-9d4a-8abc3f4fb6d9", // proc_creation_win_webshell_spawns_shell
	}},
	{3, "Recon burst via batch script", []string{
		"4bfcb9e9-d9f2-4976-b301-0cb284726516", // proc_creation_win_net_recon_privileged_groups
		"0cfa5f37-a08d-43e1-bd1b-177cee6e50b4", // proc_creation_win_net_recon_shares_sessions
		"896c0dff-489f-450d-9679-0f7a0e694724", // proc_creation_win_nltest_domain_recon
		"95ebaa7a-2b93-4232-8793-78d93fb1b09b", // proc_creation_win_fsutil_drive_enum
		"44cd3166-61d2-406e-bd80-dcd94c0a8429", // proc_creation_win_recon_output_to_file
		"2ac4dae0-b76a-41eb-9bfc-dfee5c2a5f61", // proc_creation_win_dsquery_domain_enum
	}},
	{4, "Encoded VBScript via wscript", []string{
		"ca7d90fa-9de8-49a7-b5b6-97ca71075159", // proc_creation_win_wscript_encoded_script
	}},
	{5, "SAM/SYSTEM/SECURITY hive dump", []string{
		"449845ac-2834-40e1-8d3d-e709391eb2ea", // proc_creation_win_reg_save_sensitive_hives
		"510b94cd-5093-4fec-a935-e74fd945031d", // file_event_win_registry_hive_dump_file
		"0a16ee31-5790-4853-9d55-797f0e3a86e1", // proc_creation_win_mimikatz_commandline
	}},
	{6, "LSASS dump", []string{
		"4723fffd-d7fa-4541-a494-020558ee044c", // proc_access_win_lsass_suspicious_access
		"e90c4d0c-dddd-408d-823e-ed4ed7ddf4d8", // proc_creation_win_lsass_dump_procdump
		"58ccf948-04cb-4785-9950-2c2caf2a182d", // proc_creation_win_lsass_dump_comsvcs
		"0a16ee31-5790-4853-9d55-797f0e3a86e1", // proc_creation_win_mimikatz_commandline
	}},
	{7, "NTDS.dit copy", []string{
		"ac1b358a-791f-4062-a0ba-98366bf8625f", // proc_creation_win_ntdsutil_ifm_copy
		"85a5154c-6cf5-4c4e-8860-c4dfcf065de1", // win_security_dcsync_replication_rights
	}},
	{8, "WinRM backup listener", []string{
		"95e72cf2-7f2b-473d-8632-e7117a6f79db", // proc_creation_win_winrm_compat_listener_enabled
		"14bb0109-7c10-4155-a8cd-15c0d1ff5609", // proc_creation_win_winrm_listener_config_change
	}},
	{9, "IKEEXT service hijack (wlbsctrl.dll)", []string{
		"66ebe752-f5df-4d3d-870b-7ca0a9ec9a41", // image_load_win_phantom_service_dll
		"3454ae7e-2805-4737-9ad1-55ee6f7d2b14", // file_event_win_phantom_service_dll_created
		"b007f087-a6c5-4328-b78a-a6865ea5c4d9", // registry_set_win_servicedll_unusual_path
	}},
	{10, "PrintNotify service hijack (prntvpt.dll)", []string{
		"15953352-8a54-4b21-8265-7d6f5c660756", // image_load_win_prntvpt_outside_system
		"aa582e73-3721-4a9e-ad97-783aac7821de", // image_load_win_dll_from_powershell_folder
		"84fc100d-4eac-4a12-a0d3-d3ecd0d4c698", // file_event_win_dll_written_to_powershell_folder
		"b007f087-a6c5-4328-b78a-a6865ea5c4d9", // registry_set_win_servicedll_unusual_path
	}},
	{11, "DEPLOYLOG masquerade (dbghelp.dll in the PowerShell folder)", []string{
		"aa582e73-3721-4a9e-ad97-783aac7821de", // image_load_win_dll_from_powershell_folder
		"84fc100d-4eac-4a12-a0d3-d3ecd0d4c698", // file_event_win_dll_written_to_powershell_folder
	}},
	{12, "Payload hidden in CLFS log", []string{
		"0645e947-c0c5-494a-aa2e-3c01861d50fa", // image_load_win_svchost_clfsw32
		"151a6de4-c967-4eeb-bb4f-cabd4d09b0e3", // file_event_win_clfs_blf_unusual_location
	}},
	{13, "Signed kernel rootkit WINNKIT", []string{
		"d6897251-dae3-4331-8502-ac43450e2040", // win_system_service_install_kernel_driver
		"ee4a4367-5581-43dc-8adb-c895455080e0", // win_security_service_install_kernel_driver
		"7f02d426-4888-4120-a101-2b03f9abfb94", // driver_load_win_unsigned_or_bad_signature
		"a300b2e4-166e-4c91-8c7c-e81460280133", // registry_set_win_service_imagepath_driver_by_tool
	}},
	{14, "Masquerade as rundll32.exe", []string{
		"214cbf16-dfaf-41d6-9a7c-0d53b1e0be9d", // proc_creation_win_rundll32_masquerade_location
	}},
	{15, "Lateral movement via remote scheduled task", []string{
		"21b72cfa-44e8-42cc-84f0-c293e75f5a60", // proc_creation_win_schtasks_remote_create_system
		"b30016bd-f67b-4fc5-aa56-2ad9dc8dbe64", // win_security_scheduled_task_system_batch
	}},
	{16, "Hijacked or masqueraded scheduled tasks", []string{
		"4c8322e9-93c0-4d84-b1b7-d489362d54aa", // proc_creation_win_schtasks_hijack_builtin_task
		"f0a22d4c-daa4-4365-8ed7-c285ef64d1c9", // win_security_scheduled_task_builtin_hijack
	}},
	{17, "Service creation for a loader", []string{
		"5bb91f34-c7d7-4169-8b16-6fa136170511", // win_system_service_install_suspicious_path
		"bf71f526-c1ed-4840-add5-777ffe4ceefc", // proc_creation_win_sc_create_service_suspicious
		"b007f087-a6c5-4328-b78a-a6865ea5c4d9", // registry_set_win_servicedll_unusual_path
		"544e6951-1679-41f4-8a5f-1f38384398b3", // registry_set_win_svchost_group_added
	}},
	{18, "Remote exec via SMB plus WMI / Impacket WMIEXEC", []string{
		"d82df481-3e22-4451-ba36-1cff886829ed", // proc_creation_win_wmic_remote_process_create
		"6b6f5aa2-fb5e-4be7-bd9d-fd50b3e92667", // proc_creation_win_wmiprvse_spawns_shell
		"da51ad55-052a-4d5d-8add-93ba59773ccd", // proc_creation_win_impacket_exec_output_pattern
	}},
	{19, "PsExec-like service execution", []string{
		"1c2dfe11-b125-42c8-bec2-1039cc36c524", // win_system_service_install_shell_command
		"4c80f992-e882-4803-b765-396a04030f6b", // win_security_service_install_shell_command
	}},
	{20, "RDP lateral movement / NATBypass", []string{
		"7a3675c6-3389-4b0e-a476-deced617e162", // registry_set_win_rdp_enabled
	}},
	{21, "Pass-the-hash", []string{
		"3a6fecde-ee48-4fe9-a098-ef2e14fa3c44", // win_security_logon_new_credentials_seclogo
		"0a16ee31-5790-4853-9d55-797f0e3a86e1", // proc_creation_win_mimikatz_commandline
	}},
	{22, "Ingress tool transfer via LOLBins", []string{
		"d54cb1bc-6a7f-4f16-ac9a-9c8cd56487f8", // proc_creation_win_certutil_download
		"289c463b-f19b-4211-af3c-ebc42516bc62", // proc_creation_win_certutil_decode
		"419899c8-8354-4c4f-bfaa-f090cb331e86", // proc_creation_win_bitsadmin_download
		"c8f5bb4c-839d-4f0e-a3dd-c977937df970", // proc_creation_win_powershell_download_cradle
		"bab71f13-6395-4d9d-b0ad-25e48e740d19", // proc_creation_win_curl_download_to_suspicious_dir
		"34d7ec2b-476d-421f-8228-720d2fe2a1cf", // net_connection_win_lolbin_to_public_ip
	}},
	{23, "Timestomping", []string{
		"fb5f06db-7113-4cd8-ba2d-310fcb1252a0", // file_change_win_timestomp_windows_binary
	}},
	{24, "Log clearing", []string{
		"2eddc274-924d-4978-a661-433475d59ae4", // win_security_audit_log_cleared
		"4b1e3862-932c-4b0a-9d84-156acf6ec283", // win_system_eventlog_cleared
		"68571982-272b-499d-8329-ff19be1d0701", // proc_creation_win_eventlog_clear_cmdline
	}},
	{25, "ETW blinding", []string{
		"09d7372b-0ce2-4a1a-9ee6-19fc5b231bc9", // registry_set_win_etw_logging_disabled
	}},
	{26, "WMI persistence", []string{
		"658bc775-d198-4fbb-8869-bf85740ed7ba", // sysmon_wmi_consumer_command_or_script
	}},
	{27, "Sticky-keys backdoor", []string{
		"68f9a892-7003-4d40-9b40-3199330cebd3", // registry_set_win_accessibility_debugger
	}},
	{28, "Account creation and group add", []string{
		"236a9623-3da3-404f-88e1-917878c952e8", // proc_creation_win_net_user_add
		"2ed4cca1-b95d-457b-bf4b-9907a638eb02", // proc_creation_win_net_localgroup_admin_add
		"80637fe3-0f11-4dc4-8ccb-b0e413666945", // win_security_member_added_local_admins
	}},
	{29, "Staging and archive (makecab, WinRAR with password)", []string{
		"19e38871-faa5-4a9a-93ee-960f0182327b", // proc_creation_win_makecab_staging
		"bd49e61e-e4c6-4f34-91be-0edef836e39e", // proc_creation_win_rar_password_archive
		"6c1bea89-5573-4dd4-b4f8-2d6935f69674", // proc_creation_win_7zip_password_archive
		"b8e5f307-c303-4896-836d-55b9bdc6dfa4", // proc_creation_win_archiver_split_volumes
		"f4742a09-c3a7-4ab6-b774-fb03b92b4b29", // file_event_win_archive_in_staging_folder
	}},
	{30, "Exfiltration", []string{
		"064bdedb-5b4f-40bb-b71c-87c2b494b5fa", // net_connection_win_cli_tool_to_cloud_storage
		"60b98306-259c-4a4a-9497-e6449e48a49a", // proc_creation_win_upload_tool_sends_file
	}},
	{31, "CHM spear-phish", []string{
		"18d523f5-39ca-4b7c-9ca1-ec270673c5b3", // proc_creation_win_hh_spawns_shell
	}},
}

func TestChainCoverage(t *testing.T) {
	all := loadAll(t)
	byID := map[string]*sigma.Rule{}
	for _, l := range all {
		byID[l.rule.ID] = l.rule
	}
	seen := map[int]bool{}
	for _, s := range chain {
		if seen[s.step] {
			t.Errorf("step %d listed twice", s.step)
		}
		seen[s.step] = true
		if len(s.rules) == 0 {
			t.Errorf("step %d (%s): no rule detects it", s.step, s.name)
		}
		for _, id := range s.rules {
			if byID[id] == nil {
				t.Errorf("step %d (%s): no rule with id %s", s.step, s.name, id)
			}
		}
	}
	for n := 1; n <= 31; n++ {
		if !seen[n] {
			t.Errorf("step %d of threat-intel.md section 1.3 is not mapped", n)
		}
	}
}

// TestRuleCases runs every case of every test file through the real engine
// with the default pipeline: the rules listed in the test file must give
// exactly the expected detections.
func TestRuleCases(t *testing.T) {
	all := loadAll(t)
	_, tests := files(t)
	for _, tp := range tests {
		t.Run(strings.TrimSuffix(path.Base(tp), TestSuffix), func(t *testing.T) {
			tf := readTest(t, tp)
			var rs []*sigma.Rule
			for _, rf := range tf.Rules {
				if l, ok := all[path.Join(path.Dir(tp), rf)]; ok {
					rs = append(rs, l.rule)
				}
			}
			eng, errs := detect.Compile(rs, nil, detect.Options{})
			for _, err := range errs {
				t.Errorf("compile: %v", err)
			}
			m := eng.NewMatcher()
			for _, c := range tf.Cases {
				ev := toEvent(t, &c.Event)
				var got []string
				for _, d := range m.Match(ev, nil) {
					got = append(got, d.Rule.Sigma.ID)
				}
				want := slices.Clone(c.Detections)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("case %q: got %v, want %v", c.Name, fmtIDs(got, all), fmtIDs(want, all))
				}
			}
		})
	}
}

func fmtIDs(ids []string, all map[string]*loaded) string {
	var s []string
	for _, id := range ids {
		name := id
		for p, l := range all {
			if l.rule.ID == id {
				name = path.Base(p)
			}
		}
		s = append(s, name)
	}
	return fmt.Sprint(s)
}
