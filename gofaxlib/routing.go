package gofaxlib

import (
	"encoding/json"
	"slices"
	"time"
)

// Routing is a consistent snapshot of what routes calls and jobs: tenants,
// numbers, users and endpoints, without secrets (no password hashes, API
// keys or webhook secrets), so that it can be cached in memory and written
// to a file for processes without database access. Build it with
// NewRouting (or decode it from JSON); it is read-only afterwards and safe
// for concurrent use.
type Routing struct {
	Loaded    time.Time  `json:"loaded_at"`
	Tenants   []Tenant   `json:"tenants"`
	Numbers   []Number   `json:"numbers"`
	Users     []User     `json:"users"`
	Endpoints []Endpoint `json:"endpoints"` // ordered as SortEndpoints does

	tenants map[string]int // id → index in Tenants
	numbers map[string]int // E.164 → index in Numbers
	byID    map[string]int // number id → index in Numbers
	users   map[string]int // username → index in Users
}

// NewRouting indexes the lists (taking ownership of them) and sorts the
// endpoints.
func NewRouting(loaded time.Time, tenants []Tenant, numbers []Number, users []User, endpoints []Endpoint) *Routing {
	r := &Routing{Loaded: loaded, Tenants: tenants, Numbers: numbers, Users: users, Endpoints: endpoints}
	r.index()
	return r
}

func (r *Routing) index() {
	SortEndpoints(r.Endpoints)
	r.tenants = make(map[string]int, len(r.Tenants))
	for i, t := range r.Tenants {
		r.tenants[t.ID] = i
	}
	r.numbers = make(map[string]int, len(r.Numbers))
	r.byID = make(map[string]int, len(r.Numbers))
	for i, n := range r.Numbers {
		r.numbers[n.Number] = i
		r.byID[n.ID] = i
	}
	r.users = make(map[string]int, len(r.Users))
	for i, u := range r.Users {
		r.users[u.Username] = i
	}
}

// UnmarshalJSON decodes a snapshot and indexes it.
func (r *Routing) UnmarshalJSON(b []byte) error {
	type plain Routing
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Routing(p)
	r.index()
	return nil
}

// scopeRank orders scopes from the most specific.
func scopeRank(s EndpointScope) int {
	switch s {
	case ScopeNumber:
		return 0
	case ScopeTenant:
		return 1
	}
	return 2
}

// SortEndpoints orders endpoints by scope (number, tenant, global), then
// priority (lower first), then creation and id, so equal priorities keep
// a stable order.
func SortEndpoints(eps []Endpoint) {
	slices.SortStableFunc(eps, func(a, b Endpoint) int {
		if d := scopeRank(a.Scope) - scopeRank(b.Scope); d != 0 {
			return d
		}
		if d := a.Priority - b.Priority; d != 0 {
			return d
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}

// Tenant returns the tenant with id.
func (r *Routing) Tenant(id string) (Tenant, bool) {
	i, ok := r.tenants[id]
	if !ok {
		return Tenant{}, false
	}
	return r.Tenants[i], true
}

// Number returns the number e164 (as NumberPlan.E164 writes it) and its
// tenant.
func (r *Routing) Number(e164 string) (Number, Tenant, bool) {
	i, ok := r.numbers[e164]
	if !ok {
		return Number{}, Tenant{}, false
	}
	n := r.Numbers[i]
	t, ok := r.Tenant(n.TenantID)
	return n, t, ok
}

// NumberByID returns the number with id and its tenant.
func (r *Routing) NumberByID(id string) (Number, Tenant, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Number{}, Tenant{}, false
	}
	n := r.Numbers[i]
	t, ok := r.Tenant(n.TenantID)
	return n, t, ok
}

// User returns the user whose username is owner (a HylaFAX job owner) and
// its tenant.
func (r *Routing) User(owner string) (User, Tenant, bool) {
	i, ok := r.users[owner]
	if !ok {
		return User{}, Tenant{}, false
	}
	u := r.Users[i]
	t, ok := r.Tenant(u.TenantID)
	return u, t, ok
}

// Gateways returns the enabled gateway endpoints for sending from number
// n: those of the number's scope if there are any, else those of its
// tenant's, else the global ones; each in priority order.
func (r *Routing) Gateways(n Number) []Endpoint {
	for _, match := range []func(Endpoint) bool{
		func(e Endpoint) bool { return e.Scope == ScopeNumber && e.NumberID == n.ID && e.TenantID == n.TenantID },
		func(e Endpoint) bool { return e.Scope == ScopeTenant && e.TenantID == n.TenantID },
		func(e Endpoint) bool { return e.Scope == ScopeGlobal },
	} {
		if eps := r.filter(KindGateway, match); len(eps) > 0 {
			return eps
		}
	}
	return nil
}

// Receipts returns the enabled webhook and email endpoints for a fax of
// tenant tenantID on number numberID ("" = none): those of the number's
// scope if there are any, else those of the tenant's, followed by the
// global ones (the operator's copy of everything).
func (r *Routing) Receipts(tenantID, numberID string) []Endpoint {
	receipt := func(e Endpoint) bool { return e.Kind == KindWebhook || e.Kind == KindEmail }
	var own []Endpoint
	if numberID != "" {
		own = r.filter("", func(e Endpoint) bool {
			return receipt(e) && e.Scope == ScopeNumber && e.NumberID == numberID && e.TenantID == tenantID
		})
	}
	if len(own) == 0 && tenantID != "" {
		own = r.filter("", func(e Endpoint) bool { return receipt(e) && e.Scope == ScopeTenant && e.TenantID == tenantID })
	}
	return append(own, r.filter("", func(e Endpoint) bool { return receipt(e) && e.Scope == ScopeGlobal })...)
}

func (r *Routing) filter(kind EndpointKind, match func(Endpoint) bool) []Endpoint {
	var out []Endpoint
	for _, e := range r.Endpoints {
		if e.Enabled && (kind == "" || e.Kind == kind) && match(e) {
			out = append(out, e)
		}
	}
	return out
}
