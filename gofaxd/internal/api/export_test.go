package api

// Patterns returns the pattern of every route, for the OpenAPI test.
func Patterns() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.pattern
	}
	return out
}

// OpenAPIDoc is the embedded OpenAPI document.
var OpenAPIDoc = openAPIDoc

// Negotiate is negotiate, for its tests.
var Negotiate = negotiate

// HoldFax takes the lock of fax id as a running submission holds it; the
// result releases it.
func (s *Server) HoldFax(id string) func() {
	unlock, ok := s.tryLockFax(id)
	if !ok {
		panic("api: HoldFax: the lock is taken")
	}
	return unlock
}
