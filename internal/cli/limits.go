package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/archive"
)

// limitsFlags are --max-decompressed and --max-ratio, shared by dump and
// hunt: what one input file may decompress and spool.
type limitsFlags struct {
	maxBytes sizeValue
	maxRatio int64
}

// addLimitsFlags adds --max-decompressed and --max-ratio to a command's
// flags.
func addLimitsFlags(fl *pflag.FlagSet, f *limitsFlags) {
	f.maxBytes = archive.DefaultMaxBytes
	fl.Var(&f.maxBytes, "max-decompressed", "stop reading an input file (with the archives in it) past `SIZE` decompressed, or spooled to temporary files (binary units: 500M, 16G)")
	fl.Int64Var(&f.maxRatio, "max-ratio", archive.DefaultMaxRatio, fmt.Sprintf("stop reading a compressed stream that expands more than `N` times once past %s (a decompression bomb; 0: no bound)", archive.FormatSize(archive.RatioFloor)))
}

// limits returns the limits the flags give; an error is a usage error.
func (f *limitsFlags) limits() (archive.Limits, error) {
	if f.maxRatio < 0 {
		return archive.Limits{}, fmt.Errorf("--max-ratio must be 0 (no bound) or more, not %d", f.maxRatio)
	}
	l := archive.Limits{MaxBytes: int64(f.maxBytes), MaxRatio: f.maxRatio}
	if l.MaxRatio == 0 {
		l.MaxRatio = -1
	}
	return l, nil
}

// sizeValue is a size in bytes given as a number with an optional binary
// unit: 1024, 64K, 500M, 16G, 1.5GiB, 2TB.
type sizeValue int64

func (s *sizeValue) String() string { return archive.FormatSize(int64(*s)) }
func (s *sizeValue) Type() string   { return "size" }

func (s *sizeValue) Set(text string) error {
	num := strings.TrimSpace(text)
	unit := strings.TrimLeft(num, "0123456789.")
	num = num[:len(num)-len(unit)]
	if num == "" {
		// No number first (-1G, abc): not a unit's fault.
		return fmt.Errorf("%q: want a size such as 500M or 16G", text)
	}
	shift := 0
	u := strings.ToUpper(strings.TrimSpace(unit))
	if rest, ok := strings.CutSuffix(u, "IB"); ok {
		u = rest
	} else {
		u = strings.TrimSuffix(u, "B")
	}
	switch u {
	case "":
	case "K":
		shift = 10
	case "M":
		shift = 20
	case "G":
		shift = 30
	case "T":
		shift = 40
	default:
		return fmt.Errorf("unit %q: want K, M, G or T", unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	bytes := v * float64(int64(1)<<shift)
	// Under one byte (0.1) would be 0, which archive.Limits takes for
	// the default: refused, as 0 is.
	if err != nil || bytes < 1 || bytes >= 1<<62 {
		return fmt.Errorf("%q: want a size such as 500M or 16G", text)
	}
	*s = sizeValue(bytes)
	return nil
}
