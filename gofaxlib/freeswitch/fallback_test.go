package freeswitch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFallback(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	m := memDB{}
	f := Fallback{DB: DB{API: m}, TTL: 24 * time.Hour, Now: func() time.Time { return now }}
	if ok, err := f.Active(ctx, Outbound, "49301234"); ok || err != nil {
		t.Errorf("empty list: %v, %v", ok, err)
	}
	if err := f.Add(ctx, Outbound, "49301234"); err != nil {
		t.Fatal(err)
	}
	if m["fallback/49301234"] != "1700000000" {
		t.Errorf("stored %q", m["fallback/49301234"])
	}
	now = now.Add(23 * time.Hour)
	if ok, err := f.Active(ctx, Outbound, "49301234"); !ok || err != nil {
		t.Errorf("fresh entry: %v, %v", ok, err)
	}
	now = now.Add(2 * time.Hour)
	if ok, err := f.Active(ctx, Outbound, "49301234"); ok || err != nil {
		t.Errorf("expired entry: %v, %v", ok, err)
	}
	if _, ok := m["fallback/49301234"]; ok {
		t.Error("expired entry not deleted")
	}
	m["fallback/555"] = "set-by-hand"
	if ok, _ := f.Active(ctx, Outbound, "555"); !ok {
		t.Error("hand-made entry ignored")
	}
	m["fallback/556"] = "1"
	if ok, _ := (Fallback{DB: DB{API: m}}).Active(ctx, Outbound, "556"); !ok {
		t.Error("TTL 0 must keep entries forever")
	}
}

// TestFallbackDirections: what a reception learned (from a caller ID
// anyone can claim) changes receptions only, unless Shared; what a send
// learned, GOfax.IP's entries and hand-made ones count both ways.
func TestFallbackDirections(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	m := memDB{"fallback/111": "1699990000", "fallback/112": "by-hand"} // as GOfax.IP or an operator left them
	f := Fallback{DB: DB{API: m}, TTL: 30 * 24 * time.Hour, Now: func() time.Time { return now }}
	if err := f.Add(ctx, Inbound, "221"); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(ctx, Outbound, "331"); err != nil {
		t.Fatal(err)
	}
	if m["fallback-inbound/221"] != "1700000000" || m["fallback/331"] != "1700000000" || len(m) != 4 {
		t.Errorf("stored %v", m)
	}
	shared := f
	shared.Shared = true
	tests := []struct {
		key                    string
		in, out, outWhenShared bool
	}{
		{"111", true, true, true},
		{"112", true, true, true},
		{"221", true, false, true},
		{"331", true, true, true},
		{"999", false, false, false},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			f    Fallback
			dir  Direction
			want bool
		}{{f, Inbound, tt.in}, {f, Outbound, tt.out}, {shared, Outbound, tt.outWhenShared}, {shared, Inbound, tt.in}} {
			if got, err := c.f.Active(ctx, c.dir, tt.key); got != c.want || err != nil {
				t.Errorf("key %s, direction %d, shared %v: active %v, %v; want %v", tt.key, c.dir, c.f.Shared, got, err, c.want)
			}
		}
	}
}

// TestFallbackBound: an Add beyond Max removes expired entries and then
// the oldest, down to nine tenths of Max, in its own realm only; entries
// made by hand and the one just added stay.
func TestFallbackBound(t *testing.T) {
	ctx := context.Background()
	start := time.Unix(1700000000, 0)
	now := start
	m := memDB{"fallback-inbound/by-hand": "x", "fallback/500": "1"}
	f := Fallback{DB: DB{API: m}, TTL: time.Hour, Max: 10, Now: func() time.Time { return now }}
	for i := range 10 {
		now = start.Add(time.Duration(i) * time.Minute)
		if err := f.Add(ctx, Inbound, strconv.Itoa(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	// 11 entries (10 + the hand-made one): 100 and 101 go, the oldest.
	want := []string{"102", "103", "104", "105", "106", "107", "108", "109", "by-hand"}
	if got := realmKeys(m, FallbackInboundRealm); !slices.Equal(got, want) {
		t.Errorf("after 10 Adds: %q, want %q", got, want)
	}
	if m["fallback/500"] != "1" {
		t.Error("an Add pruned the other realm")
	}
	// An hour later 102..106 have expired: the next prune takes them all,
	// however few entries it would have to remove otherwise.
	now = start.Add(67 * time.Minute)
	for _, k := range []string{"200", "201"} {
		if err := f.Add(ctx, Inbound, k); err != nil {
			t.Fatal(err)
		}
	}
	want = []string{"107", "108", "109", "200", "201", "by-hand"}
	if got := realmKeys(m, FallbackInboundRealm); !slices.Equal(got, want) {
		t.Errorf("after expiry: %q, want %q", got, want)
	}

	// Random caller IDs cannot grow the list beyond Max.
	f.Max = 50
	for i := range 500 {
		now = now.Add(time.Second)
		if err := f.Add(ctx, Inbound, fmt.Sprintf("9%06d", i)); err != nil {
			t.Fatal(err)
		}
		if n := len(realmKeys(m, FallbackInboundRealm)); n > f.Max {
			t.Fatalf("after %d Adds: %d entries, Max %d", i+1, n, f.Max)
		}
	}
	if _, ok := m["fallback-inbound/9000499"]; !ok {
		t.Error("the newest entry was removed")
	}
}

func TestFallbackEntriesRemove(t *testing.T) {
	ctx := context.Background()
	m := memDB{"fallback/111": "1700000000", "fallback/112": "by-hand", "fallback-inbound/111": "1700000100", "fallback-inbound/221": "1700000200"}
	f := Fallback{DB: DB{API: m}}
	got, err := f.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []FallbackEntry{
		{FallbackRealm, "111", time.Unix(1700000000, 0)},
		{FallbackRealm, "112", time.Time{}},
		{FallbackInboundRealm, "111", time.Unix(1700000100, 0)},
		{FallbackInboundRealm, "221", time.Unix(1700000200, 0)},
	}
	if !slices.EqualFunc(got, want, func(a, b FallbackEntry) bool { return a.Realm == b.Realm && a.Key == b.Key && a.Added.Equal(b.Added) }) {
		t.Errorf("Entries = %v, want %v", got, want)
	}
	if err := f.Remove(ctx, "111"); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, []string{"fallback-inbound/221", "fallback/112"}) {
		t.Errorf("after Remove: %q", keys)
	}
	if es, err := (Fallback{DB: DB{API: memDB{}}}).Entries(ctx); len(es) != 0 || err != nil {
		t.Errorf("empty list: %v, %v", es, err)
	}
}

// realmKeys returns the keys of realm in m, sorted.
func realmKeys(m memDB, realm string) []string {
	var keys []string
	for k := range m {
		if r, key, _ := strings.Cut(k, "/"); r == realm {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestFallbackPruneError: an entry is added even when the realm cannot be
// pruned; the error says so.
func TestFallbackPruneError(t *testing.T) {
	m := memDB{}
	api := apiFunc(func(cmd string) (string, error) {
		if strings.HasPrefix(cmd, "db list/") {
			return "-ERR db busy\n", nil
		}
		return m.API(context.Background(), cmd)
	})
	err := Fallback{DB: DB{API: api}, Max: 10}.Add(context.Background(), Inbound, "4930222")
	if err == nil || !strings.Contains(err.Error(), "4930222 added, but realm fallback-inbound not pruned") {
		t.Errorf("Add = %v", err)
	}
	if _, ok := m["fallback-inbound/4930222"]; !ok {
		t.Error("entry not added")
	}
}
