package notify

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// DefaultDeny lists the networks a webhook may not reach unless allowed:
// unspecified, "this network", loopback, private (RFC 1918), shared
// address space (RFC 6598), link-local, IETF protocol assignments
// (192.0.0.0/24), benchmarking (198.18.0.0/15), multicast, broadcast and
// reserved IPv4; unspecified, loopback, unique-local, link-local,
// site-local and multicast IPv6, and the IPv6 prefixes that carry IPv4
// addresses to a translator or relay which may reach private ones: NAT64
// (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16). IPv4-mapped IPv6
// addresses are checked as IPv4.
var DefaultDeny = mustPrefixes(
	"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	"64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",
)

func mustPrefixes(ss ...string) []netip.Prefix {
	ps, err := ParsePrefixes(ss)
	if err != nil {
		panic(err)
	}
	return ps
}

// ParsePrefixes parses networks in CIDR notation ("10.0.0.0/8",
// "fd00::/8"); a bare address is a network of one.
func ParsePrefixes(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("notify: %q is not a network in CIDR notation", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AddressPolicy decides which addresses webhooks may connect to: an
// address in Allow is permitted, else one in Deny is refused, else it is
// permitted. It is checked on the address actually connected to, after
// name resolution, so a name that resolves differently later (DNS
// rebinding) cannot pass.
type AddressPolicy struct {
	Allow []netip.Prefix
	Deny  []netip.Prefix
}

// Permits reports whether a may be connected to.
func (p AddressPolicy) Permits(a netip.Addr) bool {
	a = a.WithZone("").Unmap() // a zoned address matches no prefix
	if !a.IsValid() {
		return false
	}
	for _, n := range p.Allow {
		if n.Contains(a) {
			return true
		}
	}
	for _, n := range p.Deny {
		if n.Contains(a) {
			return false
		}
	}
	return true
}

// control is a net.Dialer Control function: it refuses a connection to an
// address the policy does not permit, before the connection is made.
func (p AddressPolicy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return Permanent(fmt.Errorf("%w: %s %q is not an IP address", ErrBlocked, network, address))
	}
	if !p.Permits(ap.Addr()) {
		return Permanent(fmt.Errorf("%w: %s", ErrBlocked, ap.Addr()))
	}
	return nil
}
