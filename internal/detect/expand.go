package detect

import (
	"fmt"
	"strings"
)

// The expand modifier: %name% in the value is a placeholder, replaced by
// each value configured for it in Options.Placeholders (several values give
// several alternatives, ORed like a value list; a value may hold
// wildcards). `\%` is a literal percent sign. A placeholder without a
// configured value makes the rule fail to compile, as the specification
// requires of a tool that cannot resolve it.

// expandPlaceholders returns the raw Sigma strings raw expands to.
func expandPlaceholders(raw string, values map[string][]string) ([]string, error) {
	outs := []string{""}
	appendAll := func(s string) {
		for k := range outs {
			outs[k] += s
		}
	}
	var lit strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			switch raw[i+1] {
			case '%':
				lit.WriteByte('%')
				i++
				continue
			case '\\', '*', '?': // keep the escape for the wildcard parser
				lit.WriteByte('\\')
				lit.WriteByte(raw[i+1])
				i++
				continue
			}
		}
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		end := strings.IndexByte(raw[i+1:], '%')
		if end < 0 {
			lit.WriteString(raw[i:])
			break
		}
		name := raw[i+1 : i+1+end]
		vals, ok := values[name]
		if !ok || len(vals) == 0 {
			return nil, fmt.Errorf("%w: %%%s%%", ErrPlaceholder, name)
		}
		appendAll(lit.String())
		lit.Reset()
		next := make([]string, 0, len(outs)*len(vals))
		for _, o := range outs {
			for _, v := range vals {
				next = append(next, o+v)
			}
		}
		outs = next
		i += end + 1
	}
	appendAll(lit.String())
	return outs, nil
}
