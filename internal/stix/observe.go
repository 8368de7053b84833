package stix

import (
	"cmp"
	"strings"

	"github.com/spoor-hunt/spoor/internal/result"
)

// sco is a cyber-observable an event shows, as a matcher sees it: its
// type and its properties by path (see pathKey).
type sco struct {
	typ   string
	props []result.Field // Name is the path
}

func (s *sco) get(key string) (string, bool) {
	for _, p := range s.props {
		if p.Name == key {
			return p.Value, true
		}
	}
	return "", false
}

func (s *sco) set(key, value string) {
	if value != "" {
		s.props = append(s.props, result.Field{Name: key, Value: value})
	}
}

// properties are the object types and properties a Windows event can
// show, by type: what Compile accepts.
var properties = map[string][]string{
	"file":      {"name", "parent_directory_ref.path", "hashes.MD5", "hashes.SHA-1", "hashes.SHA-256"},
	"directory": {"path"},
	"process": {"command_line", "pid", "cwd", "name", "image_ref.name", "image_ref.parent_directory_ref.path",
		"image_ref.hashes.MD5", "image_ref.hashes.SHA-1", "image_ref.hashes.SHA-256",
		"parent_ref.command_line", "parent_ref.pid", "parent_ref.image_ref.name", "parent_ref.image_ref.parent_directory_ref.path",
		"creator_user_ref.account_login", "extensions.windows-service-ext.service_name", "extensions.windows-service-ext.display_name"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"domain-name":          {"value"},
	"network-traffic":      {"src_ref.value", "dst_ref.value", "src_ref.type", "dst_ref.type", "src_port", "dst_port", "protocols[*]"},
	"windows-registry-key": {"key", "values[*].name", "values[*].data"},
	"user-account":         {"account_login", "user_id"},
}

// pathFields are the event fields that name a file, with the field of its
// hashes when there is one.
var pathFields = []struct{ name, hashes string }{
	{"Image", "Hashes"}, {"ImageLoaded", "Hashes"}, {"TargetFilename", ""}, {"NewProcessName", ""},
	{"ParentImage", ""}, {"ServiceFileName", ""}, {"ImagePath", ""}, {"Path", ""},
}

// observables are the cyber-observables an event's fields show: the files
// it names, its process, addresses, domains, connection, registry key,
// scheduled task (as its registry key, see TaskTree), named pipe (as a
// file in \\.\pipe) and accounts.
func observables(fields []result.Field) []sco {
	get := func(name string) string {
		for _, f := range fields {
			if f.Name == name {
				return f.Value
			}
		}
		return ""
	}
	var out []sco
	for _, pf := range pathFields {
		p := windowsPath(get(pf.name))
		if p == "" {
			continue
		}
		f := fileSCO(p)
		if pf.hashes != "" {
			addHashes(&f, "hashes.", get(pf.hashes))
		}
		out = append(out, f, sco{typ: "directory", props: []result.Field{{Name: "path", Value: dirOf(p)}}})
	}
	if pipe := strings.TrimPrefix(get("PipeName"), `\`); pipe != "" {
		out = append(out, sco{typ: "file", props: []result.Field{{Name: "name", Value: pipe}, {Name: "parent_directory_ref.path", Value: pipeDir}}})
	}
	// The process: of a process creation, or the one that acted.
	var proc sco
	proc.typ = "process"
	proc.set("command_line", get("CommandLine"))
	proc.set("pid", get("ProcessId"))
	proc.set("cwd", get("CurrentDirectory"))
	// Sysmon names the image Image, the Security log's 4688 NewProcessName
	// (and the parent's ParentProcessName).
	if p := windowsPath(cmp.Or(get("Image"), get("NewProcessName"))); p != "" {
		proc.set("image_ref.name", baseOf(p))
		proc.set("image_ref.parent_directory_ref.path", dirOf(p))
		// STIX 2.0's process name, which STIX 2.1 moved to image_ref but
		// its own examples (section 9.6.1) and partners still write.
		proc.set("name", baseOf(p))
		addHashes(&proc, "image_ref.hashes.", get("Hashes"))
	}
	proc.set("parent_ref.command_line", get("ParentCommandLine"))
	proc.set("parent_ref.pid", get("ParentProcessId"))
	if p := windowsPath(cmp.Or(get("ParentImage"), get("ParentProcessName"))); p != "" {
		proc.set("parent_ref.image_ref.name", baseOf(p))
		proc.set("parent_ref.image_ref.parent_directory_ref.path", dirOf(p))
	}
	proc.set("creator_user_ref.account_login", accountName(get("User")))
	proc.set("extensions.windows-service-ext.service_name", get("ServiceName"))
	proc.set("extensions.windows-service-ext.display_name", get("DisplayName"))
	if len(proc.props) > 0 {
		out = append(out, proc)
	}
	for _, name := range []string{"DestinationIp", "SourceIp", "IpAddress", "SourceAddress", "DestAddress"} {
		if v := strings.TrimSpace(get(name)); v != "" && v != "-" {
			typ := "ipv4-addr"
			if strings.Contains(v, ":") {
				typ = "ipv6-addr"
			}
			out = append(out, sco{typ: typ, props: []result.Field{{Name: "value", Value: v}}})
		}
	}
	for _, name := range []string{"DestinationHostname", "QueryName"} {
		if v := strings.TrimSuffix(strings.TrimSpace(get(name)), "."); v != "" {
			out = append(out, sco{typ: "domain-name", props: []result.Field{{Name: "value", Value: v}}})
		}
	}
	if src, dst := get("SourceIp"), get("DestinationIp"); src != "" || dst != "" {
		nt := sco{typ: "network-traffic"}
		nt.set("src_ref.value", src)
		nt.set("dst_ref.value", dst)
		if src != "" {
			nt.set("src_ref.type", addrType(src))
		}
		if dst != "" {
			nt.set("dst_ref.type", addrType(dst))
		}
		nt.set("src_port", get("SourcePort"))
		nt.set("dst_port", get("DestinationPort"))
		nt.set("protocols[*]", strings.ToLower(get("Protocol")))
		out = append(out, nt)
	}
	if k := registryKey(get("TargetObject")); k != "" {
		// A value's event names key\value: the key with the value, and the
		// whole as a key (a key's own events name the key).
		out = append(out, sco{typ: "windows-registry-key", props: []result.Field{{Name: "key", Value: k}}})
		if i := strings.LastIndexByte(k, '\\'); i > 0 {
			rk := sco{typ: "windows-registry-key", props: []result.Field{{Name: "key", Value: k[:i]}, {Name: "values[*].name", Value: k[i+1:]}}}
			rk.set("values[*].data", get("Details"))
			out = append(out, rk)
		}
	}
	if t := strings.TrimPrefix(strings.TrimSpace(get("TaskName")), `\`); t != "" {
		out = append(out, sco{typ: "windows-registry-key", props: []result.Field{{Name: "key", Value: TaskTree + `\` + t}}})
	}
	for _, pair := range [][2]string{{"TargetUserName", "TargetUserSid"}, {"SubjectUserName", "SubjectUserSid"}, {"User", ""}} {
		if name := accountName(get(pair[0])); name != "" && name != "-" {
			ua := sco{typ: "user-account", props: []result.Field{{Name: "account_login", Value: name}}}
			if pair[1] != "" {
				ua.set("user_id", get(pair[1]))
			}
			out = append(out, ua)
		}
	}
	return out
}

func fileSCO(p string) sco {
	return sco{typ: "file", props: []result.Field{{Name: "name", Value: baseOf(p)}, {Name: "parent_directory_ref.path", Value: dirOf(p)}}}
}

func baseOf(p string) string { return p[strings.LastIndexByte(p, '\\')+1:] }

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '\\'); i >= 0 {
		return p[:i]
	}
	return ""
}

// addHashes adds Sysmon's Hashes (SHA1=...,MD5=...) under prefix, in the
// specification's algorithm names.
func addHashes(s *sco, prefix, field string) {
	for _, part := range strings.Split(field, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if alg := hashNames[strings.ToUpper(k)]; ok && alg != "" {
			s.set(prefix+alg, strings.ToLower(v))
		}
	}
}

func accountName(s string) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

func addrType(s string) string {
	if strings.Contains(s, ":") {
		return "ipv6-addr"
	}
	return "ipv4-addr"
}

// hives maps the abbreviations Sysmon writes to the hive names the
// specification's windows-registry-key uses.
var hives = []struct{ short, long string }{
	{`HKLM\`, `HKEY_LOCAL_MACHINE\`}, {`HKU\`, `HKEY_USERS\`}, {`HKCU\`, `HKEY_CURRENT_USER\`},
	{`HKCR\`, `HKEY_CLASSES_ROOT\`}, {`\REGISTRY\MACHINE\`, `HKEY_LOCAL_MACHINE\`}, {`\REGISTRY\USER\`, `HKEY_USERS\`},
}

func registryKey(s string) string {
	s = strings.TrimSpace(s)
	u := strings.ToUpper(s)
	for _, h := range hives {
		if strings.HasPrefix(u, h.short) {
			return h.long + s[len(h.short):]
		}
	}
	return s
}
