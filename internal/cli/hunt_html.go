package cli

import (
	"io"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/report/html"
)

// writeHTML writes the self-contained HTML report of res.
func writeHTML(w io.Writer, res *hunt.Result) error { return html.Write(w, res) }
