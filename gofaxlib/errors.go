package gofaxlib

import (
	"errors"
	"fmt"
)

// Errors of the tenant store and the domain checks that callers branch on.
// A later HTTP layer maps them to statuses in one table: ErrNotFound 404,
// ErrConflict (and the errors wrapping it) 409, ErrInvalid (FieldError) 422,
// ErrUnauthenticated 401, ErrSuspended 403, ErrUnavailable 503.
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrInvalid         = errors.New("invalid value")
	ErrUnauthenticated = errors.New("unknown user or wrong credentials")
	ErrSuspended       = errors.New("suspended")
	ErrUnavailable     = errors.New("store unavailable")

	// ErrTenantHasNumbers refuses deleting a tenant that still owns
	// numbers: delete or move them first.
	ErrTenantHasNumbers = fmt.Errorf("%w: the tenant still has numbers", ErrConflict)
	// ErrTenantHasFaxes refuses deleting a tenant with fax history, which
	// is never deleted with its tenant: suspend the tenant instead.
	ErrTenantHasFaxes = fmt.Errorf("%w: the tenant has fax history; suspend it instead", ErrConflict)
	// ErrForeignJob refuses a record about a HylaFAX job for a fax that
	// another owner has: the job's user key (jobtag), which whoever
	// submits the job chooses, names that fax.
	ErrForeignJob = fmt.Errorf("%w: the job's owner is not the fax's owner", ErrConflict)
)

// FieldError is a value that cannot be used, naming the field (as in the
// JSON of the type, e.g. "number", "options.dial"). It matches both
// ErrInvalid and its own cause (e.g. ErrInvalidNumber) with errors.Is.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns ErrInvalid and the cause.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}
