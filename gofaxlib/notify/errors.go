package notify

import (
	"errors"
	"fmt"
	"time"
)

// Errors a Sender returns, and the dispatcher branches on.
var (
	// ErrGone: the webhook answered 410 Gone. The endpoint is disabled and
	// the delivery dead.
	ErrGone = errors.New("notify: endpoint gone")
	// ErrPermanent is wrapped by failures that no retry can fix (a target
	// address that is not allowed, a recipient the mail server refuses for
	// good): the delivery is dead at once.
	ErrPermanent = errors.New("notify: permanent failure")
	// ErrBlocked: the target's address is not allowed by the network
	// policy. Always wrapped together with ErrPermanent.
	ErrBlocked = errors.New("notify: address not allowed")
	// ErrAuthWithoutTLS: the mail server did not give TLS, so the
	// credentials were not sent.
	ErrAuthWithoutTLS = errors.New("notify: smtp auth refused without tls")
	// ErrNoDocument is returned (wrapped) by Documents for a fax that has
	// no such document (no page arrived, the archive entry is purged or
	// unreadable): the receipt is sent without it.
	ErrNoDocument = errors.New("notify: fax has no such document")
)

// Permanent marks err as one no retry can fix.
func Permanent(err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// Retryable reports whether a failed attempt is worth trying again.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrPermanent) && !errors.Is(err, ErrGone)
}

// RetryAfterError is a retryable failure whose peer asked to wait (HTTP
// Retry-After). The dispatcher waits After, within its bounds, instead of
// the next step of its schedule.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// retryAfter returns the wait a failure asked for, 0 if none.
func retryAfter(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > 0 {
		return ra.After
	}
	return 0
}
