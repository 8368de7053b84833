package sigma

// Placeholders returns the names of the %name% placeholders in a value of a
// field with the expand modifier, in order of appearance, without the
// percent signs. A backslash escapes a percent sign (\% is a plain '%') and
// a backslash (\\). It returns nil for a value that is not a string or has
// no placeholder.
//
// The loader keeps placeholders as written; whoever compiles the rule must
// replace them from configured values and, per the specification, reject
// the rule when it cannot.
func Placeholders(v Value) []string {
	if v.Kind != StringValue {
		return nil
	}
	s := v.Raw
	var names []string
	start := -1 // offset after an opening '%'
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '%' || s[i+1] == '\\') {
				i++
			}
		case '%':
			if start < 0 {
				start = i + 1
				continue
			}
			if i > start {
				names = append(names, s[start:i])
				start = -1
			} else {
				start = i + 1 // "%%": the second one opens
			}
		}
	}
	return names
}
