package freeswitch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// The softmodem fallback list lives in two mod_db realms. In both the key
// is the remote number made by Numbering.Key and the value the Unix time
// the entry was added; an entry with any other value was made by hand and
// neither expires nor is removed to make room.
const (
	// FallbackRealm holds what gofaxsend learned on its calls, GOfax.IP's
	// entries and entries made by hand: they count in both directions.
	FallbackRealm = "fallback"
	// FallbackInboundRealm holds what gofaxd learned on receptions. Its
	// keys come from caller IDs, which a caller can choose at will, so
	// its entries count for receptions, and for sends only when
	// Fallback.Shared is set.
	FallbackInboundRealm = "fallback-inbound"
)

// Direction says whether a call is one we send or one we receive.
type Direction int

// The directions of a call.
const (
	Outbound Direction = iota // gofaxsend's calls
	Inbound                   // gofaxd's receptions
)

// Numbering is the one number plan of the server ([freeswitch]
// countrycode, internationalprefix, nationalprefix, nationallength; see
// gofaxlib.NumberPlan), used here to make fallback keys, so that the
// caller ID of an incoming call and the number dialled for an outgoing
// one map to the same key: Numbering(cfg.NumberPlan()).
type Numbering gofaxlib.NumberPlan

// Key normalises a telephone number into a fallback key: the number as
// E.164 (gofaxlib.NumberPlan.E164, the normalisation the tenant database
// and the REST API use) without its "+". So with CountryCode 49,
// "+49 30 1234", "0049301234" and "030/1234" all give "49301234".
//
// A number E.164 refuses (a national number while no country code is
// configured, fewer than 7 digits, an extension) keeps the key it had
// before the plan existed, so entries learned or made by hand under such
// keys stay found: everything but digits dropped, a leading "+" or
// international prefix removed, with a country code a leading national
// prefix replaced by it. Pass the number without [gofaxsend] callprefix
// (the qfile's external number): GOfax.IP used caller ID inbound and
// callprefix+number outbound, keys that never matched. A number without
// digits (anonymous callers) gives ErrInvalidNumber.
func (n Numbering) Key(number string) (string, error) {
	if e, err := gofaxlib.NumberPlan(n).E164(number); err == nil {
		return e[1:], nil
	}
	number = strings.TrimSpace(number)
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
	switch {
	case digits == "" || len(digits) > maxNumberLen:
		return "", fmt.Errorf("%w: %q has no usable digits", ErrInvalidNumber, number)
	case strings.HasPrefix(number, "+"):
		return digits, nil
	case n.InternationalPrefix != "" && strings.HasPrefix(digits, n.InternationalPrefix):
		return nonEmpty(digits[len(n.InternationalPrefix):], number)
	case n.CountryCode != "" && n.NationalPrefix != "" && strings.HasPrefix(digits, n.NationalPrefix):
		return nonEmpty(n.CountryCode+digits[len(n.NationalPrefix):], number)
	}
	return digits, nil
}

func nonEmpty(key, number string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: %q has no usable digits", ErrInvalidNumber, number)
	}
	return key, nil
}

// Fallback is the softmodem fallback list: remote stations that get audio
// (T.38 off) because T.38 failed with them before.
type Fallback struct {
	DB  DB
	TTL time.Duration // entries older than this no longer count; 0 = forever
	// Max bounds the entries of each realm: an Add that finds more removes
	// the expired and then the oldest ones, down to nine tenths of Max, so
	// that the next few Adds need not read the realm again. 0 = no bound.
	Max int
	// Shared makes entries learned on receptions count for sends as well,
	// as GOfax.IP's single list did.
	Shared bool
	Now    func() time.Time // nil = time.Now
}

// FallbackEntry is one entry of the list.
type FallbackEntry struct {
	Realm string    // FallbackRealm or FallbackInboundRealm
	Key   string    // the number, as Numbering.Key wrote it
	Added time.Time // zero for an entry made by hand
}

func (f Fallback) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// realms returns the realms whose entries count for calls in direction dir.
func (f Fallback) realms(dir Direction) []string {
	if dir == Inbound || f.Shared {
		return []string{FallbackRealm, FallbackInboundRealm}
	}
	return []string{FallbackRealm}
}

// added parses an entry's value: the time it was added, false for an entry
// made by hand.
func added(v string) (time.Time, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// expired reports whether an entry added at t no longer counts.
func (f Fallback) expired(t time.Time) bool {
	return f.TTL > 0 && !t.IsZero() && f.now().Sub(t) > f.TTL
}

// Active reports whether key (see Numbering.Key) is on the list for a call
// in direction dir. An expired entry is deleted (best effort) and does not
// count.
func (f Fallback) Active(ctx context.Context, dir Direction, key string) (bool, error) {
	for _, realm := range f.realms(dir) {
		v, err := f.DB.Get(ctx, realm, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		t, _ := added(v)
		if !f.expired(t) {
			return true, nil
		}
		if err := f.DB.Delete(ctx, realm, key); err != nil {
			return false, err
		}
	}
	return false, nil
}

// Add puts key on the list with the current time, learned on a call in
// direction dir, and keeps the realm within Max.
func (f Fallback) Add(ctx context.Context, dir Direction, key string) error {
	realm := FallbackRealm
	if dir == Inbound {
		realm = FallbackInboundRealm
	}
	if err := f.DB.Set(ctx, realm, key, strconv.FormatInt(f.now().Unix(), 10)); err != nil {
		return err
	}
	if err := f.prune(ctx, realm, key); err != nil {
		return fmt.Errorf("freeswitch: %s added, but realm %s not pruned: %w", key, realm, err)
	}
	return nil
}

// prune keeps realm within Max (see Fallback.Max); keep stays.
func (f Fallback) prune(ctx context.Context, realm, keep string) error {
	if f.Max <= 0 {
		return nil
	}
	keys, err := f.DB.List(ctx, realm)
	if err != nil || len(keys) <= f.Max {
		return err
	}
	entries, err := f.entries(ctx, realm, keys)
	if err != nil {
		return err
	}
	// Oldest first; entries made by hand stay.
	entries = slices.DeleteFunc(entries, func(e FallbackEntry) bool { return e.Added.IsZero() || e.Key == keep })
	slices.SortFunc(entries, func(a, b FallbackEntry) int {
		if c := a.Added.Compare(b.Added); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	excess := len(keys) - (f.Max - f.Max/10)
	for _, e := range entries {
		if excess <= 0 && !f.expired(e.Added) {
			break
		}
		if err := f.DB.Delete(ctx, realm, e.Key); err != nil {
			return err
		}
		excess--
	}
	return nil
}

// Entries returns every entry of both realms, expired ones included.
// Keys that cannot be named in a db command (made by hand) are left out.
func (f Fallback) Entries(ctx context.Context) ([]FallbackEntry, error) {
	var all []FallbackEntry
	for _, realm := range []string{FallbackRealm, FallbackInboundRealm} {
		keys, err := f.DB.List(ctx, realm)
		if err != nil {
			return nil, err
		}
		es, err := f.entries(ctx, realm, keys)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	return all, nil
}

// entries reads the entries of keys in realm.
func (f Fallback) entries(ctx context.Context, realm string, keys []string) ([]FallbackEntry, error) {
	var out []FallbackEntry
	for _, k := range keys {
		v, err := f.DB.Get(ctx, realm, k)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidKey) {
			continue // deleted meanwhile, or not ours to name
		}
		if err != nil {
			return nil, err
		}
		t, _ := added(v)
		out = append(out, FallbackEntry{Realm: realm, Key: k, Added: t})
	}
	return out, nil
}

// Remove takes key off the list in both realms.
func (f Fallback) Remove(ctx context.Context, key string) error {
	for _, realm := range []string{FallbackRealm, FallbackInboundRealm} {
		if err := f.DB.Delete(ctx, realm, key); err != nil {
			return err
		}
	}
	return nil
}

// NeedsFallback reports whether a finished call suggests trying audio next
// time, by GOfax.IP's rule: the fax was not delivered and spandsp either
// negotiated more than once (a T.38 switch that went wrong) or saw bad rows.
func NeedsFallback(r *gofaxlib.Result) bool {
	return !r.Delivered() && (r.Negotiations > 1 || r.BadRows > 0)
}
