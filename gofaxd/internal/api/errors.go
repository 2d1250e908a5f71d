package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Errors of the HTTP layer itself; the store's and the domain's are
// gofaxlib's sentinels.
var (
	errBadRequest     = errors.New("bad request")
	errForbidden      = errors.New("forbidden")
	errMethod         = errors.New("method not allowed")
	errTooLarge       = errors.New("request too large")
	errUnsupported    = errors.New("unsupported media type")
	errRateLimited    = errors.New("too many requests")
	errNotImplemented = errors.New("not implemented")
	errNotAcceptable  = errors.New("not acceptable")
)

// statusTable maps errors to HTTP statuses: the first entry the error
// matches (errors.Is) wins, so the order matters where one error matches
// two (a taken username is a FieldError, which matches ErrInvalid, wrapping
// ErrConflict). Anything else is a 500, logged with the request id and not
// shown to the client.
var statusTable = []struct {
	err    error
	status int
}{
	{gofaxlib.ErrUnauthenticated, http.StatusUnauthorized},
	{errForbidden, http.StatusForbidden},
	{gofaxlib.ErrSuspended, http.StatusForbidden},
	{gofaxlib.ErrNotFound, http.StatusNotFound},
	{errMethod, http.StatusMethodNotAllowed},
	{errNotAcceptable, http.StatusNotAcceptable},
	{gofaxlib.ErrConflict, http.StatusConflict},
	{errTooLarge, http.StatusRequestEntityTooLarge},
	{errUnsupported, http.StatusUnsupportedMediaType},
	{errBadRequest, http.StatusBadRequest},
	{gofaxlib.ErrInvalid, http.StatusUnprocessableEntity},
	{errRateLimited, http.StatusTooManyRequests},
	{gofaxlib.ErrUnavailable, http.StatusServiceUnavailable},
	{gofaxlib.ErrOutcomeUnknown, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, http.StatusServiceUnavailable},
	{errNotImplemented, http.StatusNotImplemented},
}

// statusOf returns the HTTP status for err.
func statusOf(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return http.StatusInternalServerError
}

// unavailableRetry is the Retry-After of a 503: the database or hfaxd is
// down or slow; a few seconds lets a restart finish without a retry storm.
const unavailableRetry = 5

// reason is an error with a message meant for the client (the problem's
// detail), matching its sentinel with errors.Is.
type reason struct {
	sentinel error
	msg      string
	// retryAfter is the Retry-After of a 429 or 503, in seconds (0 =
	// the default).
	retryAfter int
}

func (e *reason) Error() string { return e.msg }
func (e *reason) Unwrap() error { return e.sentinel }

// fail returns an error matching sentinel whose message the client sees.
func fail(sentinel error, format string, args ...any) error {
	return &reason{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// fieldErr is a FieldError about a request value.
func fieldErr(field, format string, args ...any) error {
	return &gofaxlib.FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// publicErrors are the store's errors whose own text the client sees.
var publicErrors = []struct {
	err    error
	detail string
}{
	{gofaxlib.ErrTenantHasNumbers, "the tenant still has numbers: delete them first"},
	{gofaxlib.ErrTenantHasFaxes, "the tenant has fax history, which is never deleted: suspend the tenant instead"},
	{gofaxlib.ErrUnauthenticated, "unknown user or wrong credentials"},
	{gofaxlib.ErrSuspended, "the user or its tenant is suspended"},
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id"`
	// InvalidParams names the request values at fault (422, 409 on a
	// unique field, 400 on a JSON type).
	InvalidParams []invalidParam `json:"invalid_params,omitempty"`
}

type invalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// sentinelPrefixes are stripped from reasons shown to clients: the
// status says as much.
var sentinelPrefixes = []string{gofaxlib.ErrConflict.Error() + ": ", gofaxlib.ErrInvalid.Error() + ": "}

// newProblem describes err for the client without leaking internals:
// client errors say what is wrong; server errors only name the request id.
func newProblem(err error, status int, r *http.Request, requestID string) problem {
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, RequestID: requestID}
	if r != nil {
		p.Instance = r.URL.Path
	}
	var rs *reason
	var fe *gofaxlib.FieldError
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusNotImplemented:
		p.Detail = "internal error; the server's log has the details under request id " + requestID
	case errors.As(err, &rs):
		p.Detail = rs.msg
		if errors.As(err, &fe) && fe.Field != "" {
			p.InvalidParams = []invalidParam{{Name: fe.Field, Reason: publicReason(fe.Err)}}
		}
	case errors.As(err, &fe):
		p.Detail = fe.Field + ": " + publicReason(fe.Err)
		p.InvalidParams = []invalidParam{{Name: fe.Field, Reason: publicReason(fe.Err)}}
	case status == http.StatusServiceUnavailable:
		p.Detail = "the database is unavailable or too slow; try again later"
	default:
		for _, pe := range publicErrors {
			if errors.Is(err, pe.err) {
				p.Detail = pe.detail
				break
			}
		}
		if p.Detail == "" && status == http.StatusRequestEntityTooLarge {
			p.Detail = "the request body is too large"
		}
	}
	return p
}

func publicReason(err error) string {
	s := err.Error()
	for _, pre := range sentinelPrefixes {
		s = strings.TrimPrefix(s, pre)
	}
	return s
}

// problemType is the media type of error responses (RFC 9457).
const problemType = "application/problem+json"

// writeError answers err as a problem document, with Retry-After on 429
// and 503 and WWW-Authenticate on 401. Server errors are logged with the
// request id; client errors at debug level (refused credentials at info).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	id := requestID(r)
	p := newProblem(err, status, r, id)
	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="gofaxserver", Basic realm="gofaxserver", charset="UTF-8"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		after := unavailableRetry
		var rs *reason
		if errors.As(err, &rs) && rs.retryAfter > 0 {
			after = rs.retryAfter
		}
		h.Set("Retry-After", strconv.Itoa(after))
	}
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		level = slog.LevelInfo
	}
	if s.log.Enabled(r.Context(), level) {
		s.log.Log(r.Context(), level, "api: request failed", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", status, "remote", r.RemoteAddr, "error", err)
	}
	s.encode(w, problemType, status, p)
}
