package source

import (
	"io/fs"
	"os"
	"path/filepath"
)

// File is an input file found by Walk.
type File struct {
	// Path is the file's path as given or as found under a given folder,
	// or Stdin.
	Path string
	// Size is its size in bytes at the time of the walk; -1 for a stream
	// (standard input, a named pipe).
	Size int64
}

// Stdin is the path that names the standard input (Options.Stdin), read as
// a stream: JSON as it comes, EVTX and archives through memory or a
// temporary file.
const Stdin = "-"

// Walk lists the files to read for paths: a file as it is, a folder with
// every regular file below it (recursively, in lexical order, following
// symbolic links to files but not to folders). Paths keep their order.
// Paths that do not exist or cannot be listed are returned as failures;
// Walk does not look at the content of files.
func Walk(paths []string) ([]File, []Failure) {
	var (
		files  []File
		failed []Failure
	)
	for _, p := range paths {
		if p == Stdin {
			files = append(files, File{Path: p, Size: -1})
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			failed = append(failed, Failure{Name: p, Err: err})
			continue
		}
		switch {
		case fi.Mode().IsRegular():
			files = append(files, File{Path: p, Size: fi.Size()})
		case fi.IsDir():
			files, failed = walkDir(p, files, failed)
		case fi.Mode()&fs.ModeNamedPipe != 0:
			// A pipe given by name (a shell's <(zcat logs.json.gz)): read
			// as a stream.
			files = append(files, File{Path: p, Size: -1})
		default:
			failed = append(failed, Failure{Name: p, Err: errNotRegular})
		}
	}
	return files, failed
}

func walkDir(root string, files []File, failed []Failure) ([]File, []Failure) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			failed = append(failed, Failure{Name: p, Err: err})
			return nil // go on with the rest; a failed folder is not entered
		}
		var fi fs.FileInfo
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t.IsRegular():
			fi, err = d.Info()
		case t&fs.ModeSymlink != 0:
			fi, err = os.Stat(p)
		default:
			return nil // devices, pipes, sockets
		}
		if err != nil {
			failed = append(failed, Failure{Name: p, Err: err})
			return nil
		}
		if fi.Mode().IsRegular() {
			files = append(files, File{Path: p, Size: fi.Size()})
		}
		return nil
	})
	return files, failed
}
