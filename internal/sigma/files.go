package sigma

import (
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// RuleFiles returns the rule files (*.yml, *.yaml, any case) under root in
// lexical order, leaving out hidden folders (.git, .github). With fsys nil
// root is a path of the OS, else a path in fsys.
func RuleFiles(fsys fs.FS, root string) ([]string, error) {
	var files []string
	ext := filepath.Ext
	if fsys != nil {
		ext = path.Ext
	}
	fn := func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(ext(p)) {
		case ".yml", ".yaml":
			files = append(files, p)
		}
		return nil
	}
	var err error
	if fsys == nil {
		err = filepath.WalkDir(root, fn)
	} else {
		err = fs.WalkDir(fsys, root, fn)
	}
	sort.Strings(files)
	return files, err
}
