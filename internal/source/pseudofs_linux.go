package source

import "syscall"

// pseudoFS reports whether the folder p is on a kernel pseudo file system
// (/proc, /sys and their kind): its files are not evidence, and some of
// them block a reader forever (/proc/kmsg) or never end.
func pseudoFS(p string) bool {
	var st syscall.Statfs_t
	if syscall.Statfs(p, &st) != nil {
		return false
	}
	switch uint64(st.Type) {
	case 0x9fa0, // proc
		0x62656572, // sysfs
		0x64626720, // debugfs
		0x74726163, // tracefs
		0x1cd1,     // devpts
		0x27e0eb,   // cgroup
		0x63677270, // cgroup2
		0x73636673, // securityfs
		0xcafe4a11, // bpf
		0x62656570, // configfs
		0x6e736673, // nsfs
		0x50495045, // pipefs
		0x534f434b: // sockfs
		return true
	}
	return false
}
