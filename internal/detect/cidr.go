package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
)

// The cidr modifier: the value is an IPv4 or IPv6 network ("10.0.0.0/8",
// "fe80::/10"; an address alone is a single-host network) and the field's
// text must be an address inside it. IPv4-mapped IPv6 addresses
// (::ffff:10.1.2.3) count as IPv4; a zone (%eth0) is ignored.

// cidrPred matches an address against a network.
type cidrPred struct{ prefix netip.Prefix }

// parseCIDR parses a rule value of the cidr modifier.
func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: cidr %q: %w", ErrValue, s, err)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q: %w", ErrValue, s, err)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func (p *cidrPred) match(st *state, v event.Value, i int) bool {
	a, ok := parseAddr(st.text(v, i))
	return ok && p.prefix.Contains(a)
}

func (p *cidrPred) need() need { return anyNeed }

// parseAddr parses an IP address, checking its characters first so that a
// text that is no address costs no allocation.
func parseAddr(s string) (netip.Addr, bool) {
	if k := strings.IndexByte(s, '%'); k >= 0 {
		s = s[:k]
	}
	if len(s) < 2 || len(s) > 45 {
		return netip.Addr{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
