package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest rule file loaded (8 MiB). The largest rule
// files published, SigmaHQ's lists of vulnerable drivers (0.3 MB), are far
// below it, and a list of some 150,000 IOCs fits; a 50 MB rule file of a
// million values would take gigabytes to compile and hunt with. Readers
// read at most MaxFileSize+1 bytes of a rule file, and Parse refuses a
// larger one with an Error naming the file and the limit.
const MaxFileSize = 8 << 20

// Parse reads every YAML document of data, a Sigma rule file named file (the
// name is only used in positions). A document is a detection rule, a
// correlation rule (it has a correlation key) or a filter (it has a filter
// key). Sigma v1 rule collections are supported: a document with
// "action: global" is merged into every following document until one with
// "action: reset"; "action: repeat" repeats the previous document with its
// own keys merged on top.
//
// Parse never fails as a whole: a document that cannot be loaded is skipped
// and reported in Collection.Errors, with warnings about documents that did
// load. A YAML syntax error ends the file: the documents before it are kept.
// A file larger than MaxFileSize is not parsed: Errors says so.
func Parse(data []byte, file string) *Collection {
	c := &Collection{}
	c.parse(data, file)
	return c
}

// ReadFile reads the rule file name, at most MaxFileSize+1 bytes of it: a
// larger file is then refused by Parse without being read whole.
func ReadFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLimited(f)
}

// ReadLimited reads r up to its end or MaxFileSize+1 bytes, whichever
// comes first.
func ReadLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, MaxFileSize+1))
}

// LoadPaths loads every rule file under paths: a file is read whatever its
// name; a folder is walked recursively for files named *.yml or *.yaml, in
// lexical order. The error is for a path that cannot be read; problems with
// documents go to Collection.Errors.
func LoadPaths(paths []string) (*Collection, error) {
	c := &Collection{}
	var errs []error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			if err := c.loadFile(p); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				ext := strings.ToLower(filepath.Ext(path))
				if ext == ".yml" || ext == ".yaml" {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walk rules: %w", err))
		}
		sort.Strings(files)
		for _, f := range files {
			if err := c.loadFile(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return c, errors.Join(errs...)
}

func (c *Collection) loadFile(path string) error {
	data, err := ReadFile(path)
	if err != nil {
		return err
	}
	c.parse(data, path)
	return nil
}

// internalError starts the message of an Error made from a recovered panic
// (a bug in the loader or the YAML library).
const internalError = "internal error while loading: "

// parse appends the documents of data to c. A panic inside the YAML
// library or the loader is recovered into an Error for the file.
func (c *Collection) parse(data []byte, file string) {
	if len(data) > MaxFileSize {
		c.Errors = append(c.Errors, &Error{Pos: Pos{File: file},
			Msg: fmt.Sprintf("rule file larger than %d MiB, the limit on rule files (sigma.MaxFileSize): not loaded", MaxFileSize>>20)})
		return
	}
	docs, release := documents(data)
	c.parseDocs(docs, file, expansionLimit(len(data)))
	release()
}

// documents yields the documents of data: parsed by the fast parser when
// data is within the subset it handles (fastyaml.go), else decoded by
// yaml.v3. The caller calls release once done with them (no node may be
// kept).
func documents(data []byte) (docs iter.Seq2[*yaml.Node, error], release func()) {
	nodes, release, ok := fastDocs(data)
	if !ok {
		return yamlDocuments(data), func() {}
	}
	return func(yield func(*yaml.Node, error) bool) {
		for _, d := range nodes {
			if !yield(d, nil) {
				return
			}
		}
	}, release
}

// yamlDocuments yields the documents of data decoded by yaml.v3, one at a
// time, so that those before a syntax error are kept; the error ends the
// sequence.
func yamlDocuments(data []byte) iter.Seq2[*yaml.Node, error] {
	return func(yield func(*yaml.Node, error) bool) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			doc := &yaml.Node{}
			err := dec.Decode(doc)
			if err == io.EOF {
				return
			}
			if !yield(doc, err) || err != nil {
				return
			}
		}
	}
}

// syntaxError makes the Error of a YAML syntax error, with the line that
// yaml.v3 only gives in its message ("yaml: line 7: ...").
func syntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{Pos: Pos{File: file}, Msg: "YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				e.Pos.Line, e.Msg = n, "YAML: "+text
			}
		}
	}
	return e
}

// parseDocs appends the documents of docs, read from file, to c. Its rule
// collection may repeat at most limit nodes into its documents
// (expansionLimit).
func (c *Collection) parseDocs(docs iter.Seq2[*yaml.Node, error], file string, limit int) {
	defer func() {
		if r := recover(); r != nil {
			c.Errors = append(c.Errors, &Error{Pos: Pos{File: file}, Msg: internalError + fmt.Sprint(r)})
		}
	}()
	// The state of a rule collection, in one variable: the loop body below
	// is a closure, and each variable it shares is a heap allocation per
	// file.
	var st struct {
		global, previous                      *yaml.Node
		globalLine, previousLine, globalNodes int
		// expand is what the collection may still add to its documents
		// (of limit): each merge repeats the global or previous
		// document's nodes, and each document is then compiled whole.
		expand int
		n      int // documents so far
	}
	st.expand = limit
	// ids are the ids of the documents loaded so far, to tell a collection
	// document that inherits one already used.
	ids := map[string]bool{}
	for doc, err := range docs {
		if err != nil {
			c.Errors = append(c.Errors, syntaxError(file, err))
			return
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document, such as a trailing "---"
		}
		st.n++
		pos := Pos{File: file, Line: root.Line, Column: root.Column}
		if root.Kind != yaml.MappingNode {
			c.Errors = append(c.Errors, &Error{Pos: pos, Msg: "a rule must be a YAML mapping, got " + kindName(root)})
			continue
		}
		root = c.lastKeyWins(root, file)
		own := root
		if act := mapGet(root, "action"); act != nil {
			switch act.Value {
			case "global":
				st.global = withoutKey(root, "action")
				st.globalLine = root.Line
				st.globalNodes = countNodes(st.global, limit+1)
				st.previous = nil
				continue
			case "reset":
				st.global, st.previous = nil, nil
				continue
			case "repeat":
				if st.previous == nil {
					c.Errors = append(c.Errors, &Error{Pos: nodePos(file, act), Key: "action", Msg: "'action: repeat' without a previous document"})
					continue
				}
				added := countNodes(st.previous, st.expand+1)
				if added > st.expand {
					c.expansionError(pos, fmt.Sprintf("the document at line %d it repeats", st.previousLine), limit)
					return
				}
				st.expand -= added
				root = mergeNodes(st.previous, withoutKey(root, "action"))
				c.Errors = append(c.Errors, &Error{Pos: pos, Key: "action", Warning: true,
					Msg: fmt.Sprintf("rule collection (Sigma 1.x): this document repeats the one at line %d with its own keys on top", st.previousLine)})
			default:
				c.Errors = append(c.Errors, &Error{Pos: nodePos(file, act), Key: "action", Msg: fmt.Sprintf("unknown action %q (want global, reset or repeat)", act.Value)})
				continue
			}
		} else if st.global != nil {
			if st.globalNodes > st.expand {
				c.expansionError(pos, fmt.Sprintf("the global document at line %d", st.globalLine), limit)
				return
			}
			st.expand -= st.globalNodes
			root = mergeNodes(st.global, root)
			c.Errors = append(c.Errors, &Error{Pos: pos, Warning: true,
				Msg: fmt.Sprintf("rule collection (Sigma 1.x): this document is the global document at line %d with its own keys on top", st.globalLine)})
		}
		st.previous, st.previousLine = root, pos.Line
		if id := mapGet(root, "id"); id != nil && id.Kind == yaml.ScalarNode && id.Value != "" {
			if ids[id.Value] && root != own && mapGet(own, "id") == nil {
				// The documents of a v1 collection share the global id; each
				// rule needs its own.
				derived := fmt.Sprintf("%s/doc-%d", id.Value, st.n)
				root = withValue(root, "id", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: derived, Line: id.Line, Column: id.Column})
				c.Errors = append(c.Errors, &Error{Pos: pos, Key: "id", RuleID: derived, Warning: true,
					Msg: fmt.Sprintf("rule collection: document %d inherits id %s, which an earlier document of the collection has; it is given id %s", st.n, id.Value, derived)})
			}
			ids[id.Value] = true
		}
		c.document(root, file)
	}
}

// expansionError reports that a rule collection would expand past limit
// at the document at pos, by merging what into it.
func (c *Collection) expansionError(pos Pos, what string, limit int) {
	c.Errors = append(c.Errors, &Error{Pos: pos, Key: "action",
		Msg: fmt.Sprintf("rule collection: merging %s into this document would repeat more than %d YAML nodes into the file's documents in all (the limit on what a collection may expand to: one node per byte of its file, at most %d): this document and the rest of the file are not loaded", what, limit, maxExpandedNodes)})
}

// withValue returns a copy of mapping m with the value of key replaced.
func withValue(m *yaml.Node, key string, v *yaml.Node) *yaml.Node {
	out := *m
	out.Content = append([]*yaml.Node(nil), m.Content...)
	for i := 0; i+1 < len(out.Content); i += 2 {
		if out.Content[i].Kind == yaml.ScalarNode && out.Content[i].Value == key {
			out.Content[i+1] = v
		}
	}
	return &out
}

// lastKeyWins returns n with, in every mapping, only the last of keys
// written twice, as the YAML libraries other Sigma engines use read them;
// each dropped key is reported as a warning. n is returned unchanged (no
// copy) when no key repeats.
func (c *Collection) lastKeyWins(n *yaml.Node, file string) *yaml.Node {
	// keys is the path of mapping keys down to n, joined only for a
	// warning: most documents repeat no key.
	var walk func(n *yaml.Node, keys []string, depth int) *yaml.Node
	walk = func(n *yaml.Node, keys []string, depth int) *yaml.Node {
		if depth > maxNodeDepth {
			return n // checkNode reports the depth
		}
		var content []*yaml.Node // a copy, once something changes
		if n.Kind == yaml.MappingNode && repeatsKey(n.Content) {
			last := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode {
					last[k.Value] = i
				}
			}
			path := strings.Join(keys, ".")
			content = make([]*yaml.Node, 0, len(n.Content))
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.ScalarNode && last[k.Value] != i {
					later := n.Content[last[k.Value]]
					c.Errors = append(c.Errors, &Error{Pos: nodePos(file, k), Key: joinKey(path, k.Value), Warning: true,
						Msg: fmt.Sprintf("duplicate key: this one is ignored, the one at line %d is used (YAML's last one wins)", later.Line)})
					continue
				}
				content = append(content, k, n.Content[i+1])
			}
		}
		src := n.Content
		if content != nil {
			src = content
		}
		for i, ch := range src {
			if len(ch.Content) == 0 {
				continue // a scalar, or an empty collection
			}
			ks := keys
			if n.Kind == yaml.MappingNode && i%2 == 1 {
				ks = append(keys, src[i-1].Value)
			}
			if x := walk(ch, ks, depth+1); x != ch {
				if content == nil {
					content = append([]*yaml.Node(nil), n.Content...)
				}
				content[i] = x
			}
		}
		if content == nil {
			return n
		}
		out := *n
		out.Content = content
		return &out
	}
	return walk(n, nil, 0)
}

// repeatsKey reports whether the mapping content (keys and values
// alternating) has a scalar key twice. Rule mappings are small: pairs are
// compared without a map up to a few dozen keys.
func repeatsKey(content []*yaml.Node) bool {
	const small = 32
	if len(content) > 2*small {
		seen := make(map[string]bool, len(content)/2)
		for i := 0; i+1 < len(content); i += 2 {
			if k := content[i]; k.Kind == yaml.ScalarNode {
				if seen[k.Value] {
					return true
				}
				seen[k.Value] = true
			}
		}
		return false
	}
	for i := 0; i+1 < len(content); i += 2 {
		if content[i].Kind != yaml.ScalarNode {
			continue
		}
		for j := i + 2; j+1 < len(content); j += 2 {
			if content[j].Kind == yaml.ScalarNode && content[j].Value == content[i].Value {
				return true
			}
		}
	}
	return false
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// document loads one rule document.
func (c *Collection) document(root *yaml.Node, file string) {
	l := &loader{file: file}
	defer func() {
		c.Errors = append(c.Errors, l.errs...)
	}()
	if err := checkNode(root, 0); err != nil {
		l.errs = append(l.errs, &Error{Pos: nodePos(file, err.node), Msg: err.msg})
		return
	}
	hasCorr := mapGet(root, "correlation") != nil
	hasFilter := mapGet(root, "filter") != nil
	hasDet := mapGet(root, "detection") != nil
	switch {
	case !hasCorr && !hasFilter && !hasDet:
		l.fail(root, "detection", "missing detection (a document is a rule with detection, a correlation rule with correlation, or a filter with filter)")
	case hasCorr && (hasFilter || hasDet):
		l.fail(root, "", "a document holds either correlation, filter or detection, not several")
	case hasCorr:
		if r := l.correlation(root); r != nil {
			c.Correlations = append(c.Correlations, r)
		}
	case hasFilter && !hasDet:
		if r := l.filter(root); r != nil {
			c.Filters = append(c.Filters, r)
		}
	default:
		r := l.rule(root)
		switch {
		case r == nil:
		case l.agg != nil && l.categories != nil:
			l.fail(l.categoriesNode, "logsource.category", "a v1 aggregation over several categories cannot be converted: name one category")
		case l.categories != nil:
			c.Rules = append(c.Rules, l.perCategory(r)...)
		case l.agg != nil:
			rules, corr := l.convert(r)
			c.Rules = append(c.Rules, rules...)
			c.Correlations = append(c.Correlations, corr)
		default:
			c.Rules = append(c.Rules, r)
		}
	}
}

// maxExpandedNodes bounds the YAML nodes that the rule collection of one
// file adds to its documents: the global document's nodes repeated into
// every document that follows it, a document's into its repeat. Each
// document is compiled whole, so a large global document over many small
// ones would multiply the work that MaxFileSize bounds; 2^18 nodes is
// about as many values as a rule file of MaxFileSize holds, while the
// collections published add under a hundred (SigmaHQ's three: 49 to 94).
const maxExpandedNodes = 1 << 18

// expansionLimit returns the nodes that the rule collection of a file of
// size bytes may repeat into its documents: one per byte, at most
// maxExpandedNodes. The work of loading a file then stays within a small
// multiple of what a plain rule file of its size costs, so that a folder
// of small collections costs no more than its bytes of plain rules (under
// the file-wide bound alone, 13 KB could repeat 2^18 nodes).
func expansionLimit(size int) int {
	return min(size, maxExpandedNodes)
}

// countNodes returns the number of nodes of the tree n, counting no further
// than limit.
func countNodes(n *yaml.Node, limit int) int {
	count := 0
	stack := []*yaml.Node{n}
	for len(stack) > 0 && count < limit {
		x := stack[len(stack)-1]
		stack = append(stack[:len(stack)-1], x.Content...)
		count++
	}
	return count
}

// nodeErr is a structural problem found by checkNode.
type nodeErr struct {
	node *yaml.Node
	msg  string
}

// maxNodeDepth bounds YAML nesting; Sigma rules nest a few levels only.
const maxNodeDepth = 64

// checkNode rejects what the loader does not follow: aliases (which could
// expand exponentially) and absurd nesting.
func checkNode(n *yaml.Node, depth int) *nodeErr {
	if depth > maxNodeDepth {
		return &nodeErr{n, "YAML nested too deeply"}
	}
	if n.Kind == yaml.AliasNode {
		return &nodeErr{n, "YAML aliases (*" + n.Value + ") are not supported in Sigma rules"}
	}
	for _, ch := range n.Content {
		if err := checkNode(ch, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// mergeNodes returns base with over merged on top: mappings merge key by
// key, recursively; anything else in over replaces what base holds. Neither
// input is modified.
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := *base
	out.Line, out.Column = over.Line, over.Column // the document's own place
	out.Content = append([]*yaml.Node(nil), base.Content...)
	// Each key is found by index, not by a scan of out: the collection
	// bound (maxExpandedNodes) counts nodes, and a scan per key would make
	// a merge of two large mappings quadratic in them.
	index := make(map[string]int, len(out.Content)/2)
	for j := 0; j+1 < len(out.Content); j += 2 {
		if k := out.Content[j]; k.Kind == yaml.ScalarNode {
			if _, ok := index[k.Value]; !ok {
				index[k.Value] = j // the first wins, as a scan would find it
			}
		}
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j, ok := index[k.Value]; ok {
			out.Content[j+1] = mergeNodes(out.Content[j+1], v)
			continue
		}
		if k.Kind == yaml.ScalarNode {
			index[k.Value] = len(out.Content)
		}
		out.Content = append(out.Content, k, v)
	}
	return &out
}

// withoutKey returns a copy of mapping m without key.
func withoutKey(m *yaml.Node, key string) *yaml.Node {
	out := *m
	out.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	return &out
}

// mapGet returns the value of key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	_, v := mapGetKV(m, key)
	return v
}

// mapGetKV returns the key node and the value node of key in mapping m, or
// nils.
func mapGetKV(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func nodePos(file string, n *yaml.Node) Pos {
	return Pos{File: file, Line: n.Line, Column: n.Column}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
