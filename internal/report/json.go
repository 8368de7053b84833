package report

import (
	"encoding/json"
	"io"

	"github.com/spoor-hunt/spoor/internal/result"
)

// JSON writes r as one indented JSON document followed by a newline: the
// field names of result.Result, which are stable.
func JSON(w io.Writer, r *result.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
