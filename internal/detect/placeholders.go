package detect

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadPlaceholders reads the values of expand placeholders from a YAML
// mapping of placeholder names (without the percent signs) to one value or a
// list of values, for Options.Placeholders:
//
//	Administrators: ['*\adm-*', 'CORP\Domain Admins']
//	DomainControllers: [DC01, DC02]
//	Workstations: 'WS-*'
//
// Values are Sigma strings: * and ? are wildcards. name is the file name
// used in errors, which give the line of the offending key.
func LoadPlaceholders(data []byte, name string) (map[string][]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := map[string][]string{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: placeholders must be a mapping of names to values", name, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := strings.Trim(k.Value, "%")
		switch {
		case k.Kind != yaml.ScalarNode || key == "":
			return nil, fmt.Errorf("%s:%d: placeholder name must be a non-empty string", name, k.Line)
		case out[key] != nil:
			return nil, fmt.Errorf("%s:%d: %s: placeholder given twice", name, k.Line, key)
		}
		var vals []string
		switch v.Kind {
		case yaml.ScalarNode:
			vals = []string{v.Value}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s:%d: %s: values must be strings", name, e.Line, key)
				}
				vals = append(vals, e.Value)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s: value must be a string or a list of strings", name, v.Line, key)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("%s:%d: %s: no values", name, v.Line, key)
		}
		out[key] = vals
	}
	return out, nil
}
