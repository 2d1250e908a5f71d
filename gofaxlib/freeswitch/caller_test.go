package freeswitch

import (
	"strings"
	"testing"
)

func TestCallerNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"5551234", "5551234", true},
		{" +4930123 ", "+4930123", true},
		{"*31#", "*31#", true},
		{"fax", "fax", true},
		{"carrier-1.example_2", "carrier-1.example_2", true},
		{"1+2", "", false},
		{"12,3", "", false},
		{"12'3", "", false},
		{"12 3", "", false},
		{"123\r\n", "123", true},
		{strings.Repeat("1", 33), "", false},
		{"", "", false},
	} {
		got, ok := CallerNumber(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CallerNumber(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzCallerNumber(f *testing.F) {
	for _, s := range []string{"5551234", " +49 30 ", "a\nb", "*31#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := CallerNumber(s)
		if !ok {
			return
		}
		if strings.ContainsAny(n, " \t\r\n'\",{}|^/\\:") || len(n) > maxCallerNumberLen {
			t.Fatalf("CallerNumber(%q) = %q", s, n)
		}
		if again, ok := CallerNumber(n); !ok || again != n {
			t.Fatalf("CallerNumber(%q) = %q, then %q %v", s, n, again, ok)
		}
	})
}
