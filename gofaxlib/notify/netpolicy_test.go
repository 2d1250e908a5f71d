package notify

import (
	"errors"
	"net/netip"
	"testing"
)

func TestAddressPolicy(t *testing.T) {
	def := AddressPolicy{Deny: DefaultDeny}
	allowLocal := AddressPolicy{Allow: mustPrefixes("127.0.0.1/32", "fd00:1::/64"), Deny: DefaultDeny}
	denyAll := AddressPolicy{Allow: mustPrefixes("203.0.113.0/24"), Deny: mustPrefixes("0.0.0.0/0", "::/0")}
	tests := []struct {
		name   string
		policy AddressPolicy
		addr   string
		want   bool
	}{
		{"public v4", def, "93.184.215.14", true},
		{"public v6", def, "2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"loopback", def, "127.0.0.1", false},
		{"loopback other", def, "127.8.9.10", false},
		{"loopback v6", def, "::1", false},
		{"unspecified", def, "0.0.0.0", false},
		{"unspecified v6", def, "::", false},
		{"private 10", def, "10.1.2.3", false},
		{"private 172", def, "172.31.255.255", false},
		{"not private 172.32", def, "172.32.0.1", true},
		{"private 192.168", def, "192.168.1.1", false},
		{"shared address space", def, "100.64.0.1", false},
		{"link-local", def, "169.254.169.254", false},
		{"link-local v6", def, "fe80::1", false},
		{"link-local v6 with zone", def, "fe80::1%eth0", false},
		{"unique-local", def, "fd12:3456::1", false},
		{"multicast", def, "224.0.0.251", false},
		{"multicast v6", def, "ff02::1", false},
		{"broadcast", def, "255.255.255.255", false},
		{"IETF protocol assignments", def, "192.0.0.170", false},
		{"benchmarking", def, "198.18.0.1", false},
		{"benchmarking upper half", def, "198.19.255.254", false},
		{"not benchmarking 198.20", def, "198.20.0.1", true},
		{"NAT64 of loopback", def, "64:ff9b::7f00:1", false},
		{"NAT64 of private", def, "64:ff9b::a00:1", false},
		{"local-use NAT64", def, "64:ff9b:1::a00:1", false},
		{"6to4 of private", def, "2002:a00:1::1", false},
		{"6to4 of loopback", def, "2002:7f00:1::", false},
		{"v4-mapped loopback", def, "::ffff:127.0.0.1", false},
		{"v4-mapped private", def, "::ffff:10.0.0.1", false},
		{"allowed loopback address", allowLocal, "127.0.0.1", true},
		{"loopback not in allow", allowLocal, "127.0.0.2", false},
		{"allowed unique-local net", allowLocal, "fd00:1::5", true},
		{"v4-mapped allowed", allowLocal, "::ffff:127.0.0.1", true},
		{"deny all but one net", denyAll, "203.0.113.9", true},
		{"deny all", denyAll, "93.184.215.14", false},
		{"deny all v6", denyAll, "2001:db8::1", false},
		{"nothing denied", AddressPolicy{Deny: []netip.Prefix{}}, "127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			if got := tt.policy.Permits(a); got != tt.want {
				t.Errorf("Permits(%s) = %v, want %v", a, got, tt.want)
			}
			port := netip.AddrPortFrom(a, 443).String()
			err := tt.policy.control("tcp", port, nil)
			if (err == nil) != tt.want {
				t.Errorf("control(%s) = %v", port, err)
			}
			if err != nil && (!errors.Is(err, ErrBlocked) || !errors.Is(err, ErrPermanent)) {
				t.Errorf("control error %v is not ErrBlocked and ErrPermanent", err)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"10.1.2.3/8", " 192.0.2.1 ", "::ffff:10.0.0.0/104", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "10.0.0.0/8", "2001:db8::/32"}
	for i, p := range got {
		if p.String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, p, want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::/10%eth0", "", "10.0.0.0/8/8"} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::ffff:10.0.0.0/104", "fe80::1%eth0", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes([]string{s})
		if err != nil {
			return
		}
		// What parses prints back to a form that parses to the same.
		again, err := ParsePrefixes([]string{ps[0].String()})
		if err != nil || again[0] != ps[0] {
			t.Errorf("%q → %s → %v, %v", s, ps[0], again, err)
		}
	})
}
