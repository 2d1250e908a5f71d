package freeswitch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// FallbackRealm is the mod_db realm of the softmodem fallback list (shared
// with GOfax.IP): key = remote number, value = Unix time the entry was added.
const FallbackRealm = "fallback"

// Numbering describes how numbers are written locally, so that the caller ID
// of an incoming call and the number dialled for an outgoing one map to the
// same key ([freeswitch] countrycode, internationalprefix, nationalprefix).
type Numbering struct {
	CountryCode         string // e.g. "49"; "" = national numbers are left alone
	InternationalPrefix string // e.g. "00"
	NationalPrefix      string // e.g. "0"
}

// Key normalises a telephone number into a fallback key: everything but
// digits is dropped; a number written with "+" or starting with the
// international prefix becomes the digits after it; with a country code
// set, a number starting with the national prefix becomes country code +
// the rest. So with CountryCode 49, "+49 30 1234", "0049301234" and
// "030/1234" all give "49301234". Pass the number without [gofaxsend]
// callprefix (the qfile's external number): GOfax.IP used caller ID inbound
// and callprefix+number outbound, keys that never matched. A number without
// digits (anonymous callers) gives ErrInvalidNumber.
func (n Numbering) Key(number string) (string, error) {
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

// Fallback is the softmodem fallback list: remote stations that should get
// audio (T.38 off) because T.38 failed with them before.
type Fallback struct {
	DB  DB
	TTL time.Duration    // entries older than this no longer count; 0 = forever
	Now func() time.Time // nil = time.Now
}

func (f Fallback) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Active reports whether key (see Numbering.Key) is on the list. An expired
// entry is deleted (best effort) and reported as inactive; an entry whose
// value is not a Unix time (set by hand) counts without expiry.
func (f Fallback) Active(ctx context.Context, key string) (bool, error) {
	v, err := f.DB.Get(ctx, FallbackRealm, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	added, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || f.TTL <= 0 || f.now().Sub(time.Unix(added, 0)) <= f.TTL {
		return true, nil
	}
	if err := f.DB.Delete(ctx, FallbackRealm, key); err != nil {
		return false, err
	}
	return false, nil
}

// Add puts key on the list with the current time.
func (f Fallback) Add(ctx context.Context, key string) error {
	return f.DB.Set(ctx, FallbackRealm, key, strconv.FormatInt(f.now().Unix(), 10))
}

// NeedsFallback reports whether a finished call suggests trying audio next
// time, by GOfax.IP's rule: the fax was not delivered and spandsp either
// negotiated more than once (a T.38 switch that went wrong) or saw bad rows.
func NeedsFallback(r *gofaxlib.Result) bool {
	return !r.Delivered() && (r.Negotiations > 1 || r.BadRows > 0)
}
