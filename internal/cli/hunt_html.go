package cli

import (
	"io"

	"github.com/spoor-hunt/spoor/internal/report/html"
	"github.com/spoor-hunt/spoor/internal/result"
)

// writeHTML writes the self-contained HTML report of res.
func writeHTML(w io.Writer, res *result.Result) error { return html.Write(w, res) }
