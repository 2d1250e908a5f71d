package api_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
)

// The OpenAPI document is checked against the server: every route is in
// it and every operation in it is a route (TestOpenAPIRoutes), and every
// response of the black-box tests (env.do) has a status the operation
// documents, the documented media type, and a body that validates
// against the documented schema (checkSpec). The validator covers the
// subset of JSON Schema the document uses: type (also lists, for null),
// properties, required, additionalProperties false, items, enum, pattern,
// format date-time and uuid, minimum, maximum, minLength, maxLength,
// anyOf and $ref.

var (
	specOnce sync.Once
	spec     map[string]any
	specErr  error
)

func loadSpec(t testing.TB) map[string]any {
	t.Helper()
	specOnce.Do(func() { specErr = json.Unmarshal(api.OpenAPIDoc, &spec) })
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return spec
}

func TestOpenAPIRoutes(t *testing.T) {
	doc := loadSpec(t)
	if v := doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v", v)
	}
	var documented []string
	for path, item := range doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+path)
		}
	}
	routes := api.Patterns()
	sort.Strings(documented)
	sort.Strings(routes)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which is no route", d)
		}
	}
	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if resolve(doc, r) == nil {
					t.Errorf("$ref %s does not resolve", r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// TestSchemaChecker makes sure the checker finds what it should.
func TestSchemaChecker(t *testing.T) {
	doc := loadSpec(t)
	tenant := map[string]any{"$ref": "#/components/schemas/Tenant"}
	good := `{"id":"00000000-0000-4000-8000-000000000000","name":"A","time_zone":"UTC","suspended":false,"retention_days":0,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	for _, c := range []struct {
		name, body string
		ok         bool
	}{
		{"good", good, true},
		{"extra field", strings.Replace(good, `"name"`, `"x":1,"name"`, 1), false},
		{"missing field", strings.Replace(good, `"name":"A",`, "", 1), false},
		{"wrong type", strings.Replace(good, `"suspended":false`, `"suspended":"no"`, 1), false},
		{"bad uuid", strings.Replace(good, `00000000-0000`, `x`, 1), false},
		{"bad time", strings.Replace(good, `2025-01-01T00:00:00Z"}`, `yesterday"}`, 1), false},
		{"negative", strings.Replace(good, `"retention_days":0`, `"retention_days":-1`, 1), false},
	} {
		var v any
		must(t, json.Unmarshal([]byte(c.body), &v))
		errs := validate(doc, tenant, v, "$")
		if (len(errs) == 0) != c.ok {
			t.Errorf("%s: errors %v", c.name, errs)
		}
	}
}

// checkSpec validates one response against the document.
func checkSpec(t testing.TB, method, path string, r response) {
	t.Helper()
	doc := loadSpec(t)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	ctype, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	tmpl, item := matchPath(doc, path)
	var op map[string]any
	if item != nil {
		op, _ = item[strings.ToLower(method)].(map[string]any)
	}
	if op == nil {
		// No such operation: only an authentication, routing or rate
		// limit problem may come back.
		if !slices.Contains([]int{401, 404, 405, 429}, r.status) || ctype != "application/problem+json" {
			t.Errorf("%s %s (no operation): %d %s", method, path, r.status, ctype)
			return
		}
		checkBody(t, doc, map[string]any{"$ref": "#/components/schemas/Problem"}, r, method+" "+path)
		return
	}
	responses := op["responses"].(map[string]any)
	rd, ok := responses[strconv.Itoa(r.status)].(map[string]any)
	if !ok {
		t.Errorf("%s %s: status %d is not documented: %s", method, tmpl, r.status, r.body)
		return
	}
	if ref, ok := rd["$ref"].(string); ok {
		rd = resolve(doc, ref).(map[string]any)
	}
	content, _ := rd["content"].(map[string]any)
	if content == nil {
		if len(r.body) != 0 {
			t.Errorf("%s %s: %d has a body, none documented", method, tmpl, r.status)
		}
		return
	}
	mt, ok := content[ctype].(map[string]any)
	if !ok {
		t.Errorf("%s %s: %d has Content-Type %q, documented %v", method, tmpl, r.status, ctype, keys(content))
		return
	}
	if !strings.HasSuffix(ctype, "json") {
		return // a document (PDF, TIFF): its media type is documented
	}
	checkBody(t, doc, mt["schema"], r, fmt.Sprintf("%s %s %d", method, tmpl, r.status))
}

func checkBody(t testing.TB, doc map[string]any, schema any, r response, what string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Errorf("%s: body is not JSON: %v: %s", what, err, r.body)
		return
	}
	if errs := validate(doc, schema, v, "$"); len(errs) > 0 {
		t.Errorf("%s: body does not match the schema:\n  %s\n%s", what, strings.Join(errs, "\n  "), r.body)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// matchPath finds the path template matching path ("{x}" matches one
// segment); literal segments win over parameters.
func matchPath(doc map[string]any, path string) (string, map[string]any) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := "", -1
	for tmpl := range doc["paths"].(map[string]any) {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		score := 0
		for i := range ts {
			switch {
			case ts[i] == segs[i]:
				score++
			case strings.HasPrefix(ts[i], "{") && segs[i] != "":
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = tmpl, score
		}
	}
	if best == "" {
		return "", nil
	}
	return best, doc["paths"].(map[string]any)[best].(map[string]any)
}

func resolve(doc map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, p := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

var (
	uuidRe     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

// validate checks v against schema and returns what does not match.
func validate(doc map[string]any, schema any, v any, at string) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": unusable schema"}
	}
	if ref, ok := s["$ref"].(string); ok {
		return validate(doc, resolve(doc, ref), v, at)
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, alt := range anyOf {
			errs := validate(doc, alt, v, at)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{at + ": matches none of anyOf: " + strings.Join(all, "; ")}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(typ string) bool { return hasType(v, typ) }) {
			bad("%s is not of type %v", short(v), types)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%s is not one of %v", short(v), enum)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				bad("required property %q is missing", r)
			}
		}
		for k, x := range v {
			ps, ok := props[k]
			if !ok {
				if ap, ok := s["additionalProperties"].(bool); ok && !ap {
					bad("property %q is not in the schema", k)
				}
				continue
			}
			errs = append(errs, validate(doc, ps, x, at+"."+k)...)
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, x := range v {
				errs = append(errs, validate(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				bad("%q is not a date-time", v)
			}
		case "uuid":
			if !uuidRe.MatchString(v) {
				bad("%q is not a uuid", v)
			}
		}
		if p, ok := s["pattern"].(string); ok && !compiled(p).MatchString(v) {
			bad("%q does not match %s", v, p)
		}
		if n, ok := s["minLength"].(float64); ok && float64(len([]rune(v))) < n {
			bad("%q is shorter than %v", v, n)
		}
		if n, ok := s["maxLength"].(float64); ok && float64(len([]rune(v))) > n {
			bad("%q is longer than %v", v, n)
		}
	case float64:
		if n, ok := s["minimum"].(float64); ok && v < n {
			bad("%v is below %v", v, n)
		}
		if n, ok := s["maximum"].(float64); ok && v > n {
			bad("%v is above %v", v, n)
		}
	}
	return errs
}

func compiled(p string) *regexp.Regexp {
	patternsMu.Lock()
	defer patternsMu.Unlock()
	re := patterns[p]
	if re == nil {
		re = regexp.MustCompile(p)
		patterns[p] = re
	}
	return re
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}
