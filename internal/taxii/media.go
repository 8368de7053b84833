package taxii

import (
	"mime"
	"strconv"
	"strings"
)

// acceptable tells whether Accept headers admit TAXII 2.1's media type:
// no header (or an empty one), */*, application/*, or application/taxii+json
// with no version or version 2.1, at a quality above zero. A range that
// cannot be parsed admits nothing.
func acceptable(headers []string) bool {
	ranges := 0
	for _, h := range headers {
		for r := range strings.SplitSeq(h, ",") {
			if strings.TrimSpace(r) == "" {
				continue
			}
			ranges++
			mt, params, err := mime.ParseMediaType(r)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*":
				return true
			case "application/taxii+json":
				if v, ok := params["version"]; !ok || v == "2.1" {
					return true
				}
			}
		}
	}
	return ranges == 0
}
