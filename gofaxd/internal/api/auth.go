package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// principal is who a request acts as: the operator (an admin token) or a
// tenant user (an API key or a Basic login). It is not changed after
// authentication; verified API keys share theirs through the key cache.
type principal struct {
	admin     string        // the admin token's name; "" for tenant users
	user      gofaxlib.User // the tenant user
	keyID     string        // the API key used, "" for Basic
	keyPrefix string
}

func (p *principal) isAdmin() bool { return p.admin != "" }

// scope is what the principal may see: everything, or its tenant.
func (p *principal) scope() gofaxlib.Scope {
	if p.isAdmin() {
		return gofaxlib.OperatorScope()
	}
	return gofaxlib.TenantScope(p.user.TenantID)
}

// tenantAdmin reports a tenant user with the tenant-admin role.
func (p *principal) tenantAdmin() bool {
	return !p.isAdmin() && p.user.Role == gofaxlib.RoleTenantAdmin
}

// actor names the principal in the audit log.
func (p *principal) actor() string {
	switch {
	case p.isAdmin():
		return "admin:" + p.admin
	case p.keyID != "":
		return "api-key:" + p.keyPrefix + " (user:" + p.user.Username + ")"
	}
	return "user:" + p.user.Username
}

// maxTokenLen bounds a bearer token: API keys have 49 characters; an
// admin token of a few hundred is generous.
const maxTokenLen = 1024

// noSuchUser stands for a Basic username no user can have (too long, not
// UTF-8, control characters): it has a blank, which usernames never do.
const noSuchUser = "no such user"

// apiKeyMarker starts every API key (gofaxlib/postgres makes them).
const apiKeyMarker = "gofax_"

// authenticate finds the principal of r: Authorization: Bearer with an
// admin token or an API key, or Basic with a tenant user's name and
// password. The rate limit applies per presented credential before it is
// checked, so it also slows down password guessing.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, fail(gofaxlib.ErrUnauthenticated, "credentials required: Authorization: Bearer <token> or Basic <user:password>")
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token := strings.TrimSpace(cred)
		if token == "" || len(token) > maxTokenLen {
			return nil, gofaxlib.ErrUnauthenticated
		}
		sum := sha256.Sum256([]byte(token))
		if err := s.rateLimit("t:" + string(sum[:16])); err != nil {
			return nil, err
		}
		if name, ok := s.adminToken(&sum); ok {
			return &principal{admin: name}, nil
		}
		if !strings.HasPrefix(token, apiKeyMarker) {
			return nil, gofaxlib.ErrUnauthenticated
		}
		return s.verifyKey(r.Context(), token, &sum)
	case strings.EqualFold(scheme, "Basic"):
		user, password, ok := r.BasicAuth()
		if !ok || user == "" {
			return nil, fail(gofaxlib.ErrUnauthenticated, "malformed Basic credentials")
		}
		if len(user) > gofaxlib.MaxUsernameLen || !utf8.ValidString(user) || gofaxlib.HasControl(user) {
			// No user has such a name; the store still spends the time
			// of a verification on it, so the answer is the same.
			user = noSuchUser
		}
		if err := s.rateLimit("u:" + user); err != nil {
			return nil, err
		}
		// A login may fail only so often from one address: a password
		// check costs the server far more than the guess costs the
		// client. Logins that succeed cost nothing of the allowance.
		addr := clientAddr(r)
		if ok, wait := s.logins.peek(addr, time.Now()); !ok {
			s.loginsRefused.Add(1)
			return nil, &reason{sentinel: errRateLimited, retryAfter: max(1, int((wait+time.Second-1)/time.Second)),
				msg: "too many failed logins from this address; retry after the time in Retry-After"}
		}
		u, err := s.store.VerifyPassword(r.Context(), user, password)
		if errors.Is(err, gofaxlib.ErrUnauthenticated) {
			s.logins.charge(addr, time.Now())
			s.loginsFailed.Add(1)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		return &principal{user: u}, nil
	}
	return nil, fail(gofaxlib.ErrUnauthenticated, "unsupported authorization scheme: use Bearer or Basic")
}

// Failed Basic logins per client address: at most loginFailures at once,
// one more every loginRefill (about a hundred guesses an hour). A proxy
// in front of the server makes all clients one address.
const (
	loginFailures = 10
	loginRefill   = 30 * time.Second
)

// clientAddr is the address failed logins are counted by: the client's
// IP address, for IPv6 its /64 (one host's share of a network).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// LoginStats returns how many Basic logins failed (wrong user or
// password) and how many were refused unchecked, their address having
// failed too often.
func (s *Server) LoginStats() (failed, refused uint64) {
	return s.loginsFailed.Load(), s.loginsRefused.Load()
}

// adminToken compares the token's hash with every configured one in
// constant time (all of them, whatever matches), so timing tells nothing
// about how close a guess came or which token matched.
func (s *Server) adminToken(sum *[sha256.Size]byte) (string, bool) {
	name := ""
	for i := range s.o.AdminTokens {
		t := &s.o.AdminTokens[i]
		if subtle.ConstantTimeCompare(sum[:], t.SHA256[:]) == 1 && name == "" {
			name = t.Name
		}
	}
	return name, name != ""
}

// verifyKey checks an API key: from the cache when it was verified within
// the cache's TTL, else with the store.
func (s *Server) verifyKey(ctx context.Context, key string, sum *[sha256.Size]byte) (*principal, error) {
	now := time.Now()
	if p := s.keys.get(sum, now); p != nil {
		return p, nil
	}
	gen := s.keys.generation()
	u, k, err := s.store.VerifyAPIKey(ctx, key)
	if err != nil {
		return nil, err
	}
	p := &principal{user: u, keyID: k.ID, keyPrefix: k.Prefix}
	s.keys.put(sum, p, gen, now)
	return p, nil
}

// maxCachedKeys bounds the key cache; beyond it, expired entries are
// dropped, and if none has expired the whole cache.
const maxCachedKeys = 10000

// keyCache remembers verified API keys by their SHA-256 for a short time,
// so that a client's requests need no store query to authenticate.
// Revocations and suspensions made through the API drop entries at once
// (drop); a generation counter keeps a verification that was running
// while they happened from caching its stale answer.
type keyCache struct {
	ttl time.Duration // <= 0: off

	mu  sync.Mutex
	gen uint64
	m   map[[sha256.Size]byte]keyEntry
}

type keyEntry struct {
	p     *principal
	until time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: make(map[[sha256.Size]byte]keyEntry)}
}

func (c *keyCache) get(sum *[sha256.Size]byte, now time.Time) *principal {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[*sum]
	if !ok || now.After(e.until) {
		return nil
	}
	return e.p
}

func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *keyCache) put(sum *[sha256.Size]byte, p *principal, gen uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedKeys {
		for k, e := range c.m {
			if now.After(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
	}
	c.m[*sum] = keyEntry{p: p, until: now.Add(c.ttl)}
}

// drop forgets every cached key whose principal match selects.
func (c *keyCache) drop(match func(*principal) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if match(e.p) {
			delete(c.m, k)
		}
	}
}

// forgetKey, forgetUser and forgetTenant drop cached keys after a change
// through the API that makes them invalid (or changes their user).
func (s *Server) forgetKey(id string) {
	s.keys.drop(func(p *principal) bool { return p.keyID == id })
}

func (s *Server) forgetUser(id string) {
	s.keys.drop(func(p *principal) bool { return p.user.ID == id })
}

func (s *Server) forgetTenant(id string) {
	s.keys.drop(func(p *principal) bool { return p.user.TenantID == id })
}

// InvalidateCredentials drops every cached API key verification, e.g.
// when gofaxd learns of a change of users or tenants made elsewhere.
func (s *Server) InvalidateCredentials() {
	s.keys.drop(func(*principal) bool { return true })
}

// rateLimit takes one request from the bucket of credential key.
func (s *Server) rateLimit(key string) error {
	if s.limiter == nil {
		return nil
	}
	ok, wait := s.limiter.allow(key, time.Now())
	if ok {
		return nil
	}
	secs := int((wait + time.Second - 1) / time.Second)
	return &reason{sentinel: errRateLimited, retryAfter: max(1, secs),
		msg: "rate limit of this credential exceeded; retry after the time in Retry-After"}
}

// forbidden refuses an action the principal may not take on an object it
// may see.
func forbidden(format string, args ...any) error { return fail(errForbidden, format, args...) }

// adminOnly refuses tenant users.
func adminOnly(p *principal) error {
	if !p.isAdmin() {
		return forbidden("this needs an admin token")
	}
	return nil
}
