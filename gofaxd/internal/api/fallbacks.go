package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// The softmodem fallback list: remote numbers that get audio instead of
// T.38 because T.38 failed with them, kept by this host's FreeSWITCH in
// mod_db. The operator reads it and takes numbers off it.

// FallbackList is the softmodem fallback list of this host's FreeSWITCH
// (gofaxd reaches it through the event socket). An error that is about
// reaching FreeSWITCH wraps gofaxlib.ErrUnavailable.
type FallbackList interface {
	Entries(ctx context.Context) ([]freeswitch.FallbackEntry, error)
	Remove(ctx context.Context, key string) error
}

// fallbackView is one entry as the API shows it.
type fallbackView struct {
	// Number is the key as E.164, null for a key that is none (made by
	// hand, or learned from a number the plan cannot convert).
	Number *string `json:"number"`
	Key    string  `json:"key"`
	Realm  string  `json:"realm"`
	// CountsFor is "both" (learned sending, GOfax.IP's and entries made
	// by hand) or "inbound" (learned receiving; "both" with [freeswitch]
	// fallbackshared).
	CountsFor string `json:"counts_for"`
	// Added is when the entry was learned, null for one made by hand
	// (which never expires); Expires when it stops counting, null for
	// never.
	Added   *time.Time `json:"added_at"`
	Expires *time.Time `json:"expires_at"`
	Expired bool       `json:"expired"`
	Host    string     `json:"host"`
}

func (s *Server) fallbacks(p *principal) (FallbackList, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	if s.o.Fallbacks == nil {
		return nil, fail(errNotImplemented, "this server has no FreeSWITCH event socket to read the fallback list from")
	}
	return s.o.Fallbacks, nil
}

func (s *Server) listFallbacks(w http.ResponseWriter, r *http.Request, p *principal) error {
	fl, err := s.fallbacks(p)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	entries, err := fl.Entries(r.Context())
	if err != nil {
		return freeswitchErr(err)
	}
	now := time.Now()
	views := make([]fallbackView, 0, len(entries))
	for _, e := range entries {
		v := fallbackView{Key: e.Key, Realm: e.Realm, CountsFor: "both", Host: s.store.Host()}
		if e.Realm == freeswitch.FallbackInboundRealm {
			v.CountsFor = "inbound"
		}
		if n := "+" + e.Key; gofaxlib.IsE164(n) {
			v.Number = &n
		}
		if !e.Added.IsZero() {
			added := e.Added.UTC()
			v.Added = &added
			if s.o.FallbackTTL > 0 {
				exp := added.Add(s.o.FallbackTTL)
				v.Expires, v.Expired = &exp, now.After(exp)
			}
		}
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b fallbackView) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Realm, b.Realm)
	})
	s.reply(w, http.StatusOK, newList(views, ""))
	return nil
}

// deleteFallback takes a number off the list (both realms): under its key
// as the number plan makes it (the key gofaxd and gofaxsend use), and
// under the digits as written when they differ, so that an entry GOfax.IP
// or an administrator made under another spelling goes too.
func (s *Server) deleteFallback(w http.ResponseWriter, r *http.Request, p *principal) error {
	fl, err := s.fallbacks(p)
	if err != nil {
		return err
	}
	number := r.PathValue("number")
	key, err := freeswitch.Numbering(s.o.Plan).Key(number)
	if err != nil || len(number) > maxFilterLen {
		return fieldErr("number", "%q is not a telephone number", clipText(number))
	}
	keys := []string{key}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
	if digits != key && digits != "" {
		keys = append(keys, digits)
	}
	for _, k := range keys {
		if err := fl.Remove(r.Context(), k); err != nil {
			return freeswitchErr(err)
		}
	}
	s.audit(r, p, "fallback.delete", "fallback", key, "", map[string]any{"number": number, "keys": keys,
		"host": s.store.Host()})
	noContent(w)
	return nil
}

// freeswitchErr is what the caller learns of a failed mod_db command:
// FreeSWITCH not reachable or not answering is 503, the rest a logged 500.
func freeswitchErr(err error) error {
	if errors.Is(err, gofaxlib.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return &reason{sentinel: gofaxlib.ErrUnavailable, msg: "FreeSWITCH's event socket cannot be reached; try again later"}
	}
	return err
}
