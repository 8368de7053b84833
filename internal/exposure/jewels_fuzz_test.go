package exposure

import "testing"

// FuzzParseJewels checks that no crown-jewels file makes the parser or the
// matching of its entries panic or hang, and that a file it accepts has
// entries each naming exactly one kind of location.
func FuzzParseJewels(f *testing.F) {
	f.Add("j.yml", "- path: 'D:\\Shares\\CAD\\**'\n  label: CAD\n- share: '\\\\FS03\\Eng'\n- host: FS03\n")
	f.Add("j.yml", "jewels:\n  - host: a\n")
	f.Add("j.txt", "# c\nD:\\x\\** | x\n\\\\h\\s\nhost\n")
	f.Fuzz(func(t *testing.T, name, data string) {
		if len(data) > 1<<16 {
			return
		}
		j, err := ParseJewels(name, []byte(data))
		if err != nil {
			return
		}
		for _, e := range j.Entries {
			n := 0
			for _, v := range []string{e.Path, e.Share, e.Host} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("entry %+v names %d kinds", e, n)
			}
			e.matches("FS03", `\\FS03\Eng\CAD\a.dwg`)
			e.matches("FS03", `D:\Shares\CAD\**\*.dwg`)
		}
	})
}
