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
