package cli

import (
	"errors"
	"io"

	"github.com/spoor-hunt/spoor/internal/hunt"
)

// writeHTML writes the HTML report of res. The report package for it is
// not in yet.
func writeHTML(_ io.Writer, _ *hunt.Result) error {
	return errors.New("the HTML report is not available in this build yet")
}
