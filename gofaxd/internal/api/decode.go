package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// decodeJSON reads r's body into dst: a JSON object of at most limit
// bytes, with no field dst does not have and nothing after it. optional
// accepts an empty body (dst stays as it is).
func decodeJSON(r *http.Request, limit int64, dst any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || !optional {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fail(errUnsupported, "the body must be application/json, not %q", clipText(ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(errTooLarge, "the body is larger than %d bytes", limit)
		}
		return fail(errBadRequest, "reading the body: %v", err)
	}
	return decodeBody(body, dst, optional)
}

// decodeBody is decodeJSON's parser, a pure function (fuzzed).
func decodeBody(body []byte, dst any, optional bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return fail(errBadRequest, "a JSON object is required as the body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(errBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a 400 (not JSON, unknown field)
// or a 422 naming the field whose value has the wrong type.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fail(errBadRequest, "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fail(errBadRequest, "the body must be a JSON object")
		}
		return &reason{sentinel: fieldErr(field, "expected %s, got JSON %s", jsonKind(te.Type.Kind().String()), te.Value),
			msg: fmt.Sprintf("%s: expected %s, got JSON %s", field, jsonKind(te.Type.Kind().String()), te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fail(errBadRequest, "the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fail(errBadRequest, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return fail(errBadRequest, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return goKind
}

func clipText(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// query reads a list's query parameters: only those in allowed (and
// limit and cursor) may appear, each at most once.
type query struct {
	v url.Values
}

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, fail(errBadRequest, "malformed query string")
	}
	for k, vals := range v {
		ok := k == "limit" || k == "cursor"
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return query{}, fail(errBadRequest, "unknown query parameter %q", clipText(k))
		}
		if len(vals) > 1 {
			return query{}, fail(errBadRequest, "query parameter %q given more than once", k)
		}
	}
	return query{v: v}, nil
}

func (q query) get(k string) string { return q.v.Get(k) }

// page returns the paging parameters: limit (1 to gofaxlib.MaxLimit,
// default gofaxlib.DefaultLimit) and the opaque cursor of a previous page.
func (q query) page() (gofaxlib.Page, error) {
	p := gofaxlib.Page{Cursor: q.get("cursor")}
	if s := q.get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > gofaxlib.MaxLimit {
			return p, fieldErr("limit", "%q: a whole number from 1 to %d", clipText(s), gofaxlib.MaxLimit)
		}
		p.Limit = n
	}
	if len(p.Cursor) > 200 {
		return p, fieldErr("cursor", "not a cursor of this list")
	}
	return p, nil
}

// listScope is the scope of a list: a tenant's own; for the operator all
// tenants', or one tenant's with ?tenant_id=. A tenant asking for another
// tenant's list gets an empty one (ok false).
func (q query) listScope(p *principal) (sc gofaxlib.Scope, ok bool, err error) {
	t := q.get("tenant_id")
	switch {
	case p.isAdmin() && t == "":
		return gofaxlib.OperatorScope(), true, nil
	case !uuidOK(t) && t != "":
		return sc, false, fieldErr("tenant_id", "%q is not a tenant id", clipText(t))
	case p.isAdmin():
		return gofaxlib.TenantScope(t), true, nil
	case t != "" && t != p.user.TenantID:
		return sc, false, nil
	}
	return p.scope(), true, nil
}

// uuidOK reports whether s looks like a UUID (8-4-4-4-12 hex digits).
func uuidOK(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// list is the JSON of one page of a list.
type list[T any] struct {
	Data []T `json:"data"`
	// NextCursor continues the list (?cursor=); null on the last page.
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Data: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}
