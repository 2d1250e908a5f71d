// Package gofaxlib holds the domain types that gofaxd and gofaxsend share:
// the outcome of one fax call (Result, PageResult), the spandsp T.30
// completion codes with a retry class each (T30Code, Class), the
// classification of FreeSWITCH hangup causes (CauseClass) and the decision
// what a sender does next (Decide, Outcome).
//
// For tenants (kept in PostgreSQL by gofaxlib/postgres) it holds the
// domain model: Tenant, Number, User, APIKey, Endpoint, Fax and Attempt,
// the Scope every tenant-owned query takes, the Routing snapshot with its
// lookups (number → tenant, job owner → user, gateways and receipt
// endpoints by scope and priority), the sentinel errors (ErrNotFound,
// ErrConflict, FieldError, …), the status mapping from faxq's notify
// reasons (StatusFromNotify) and the one E.164 normalisation (NumberPlan).
// FaxResource is a fax as the REST API and the receipts show it
// (NewFaxResource), and Submitter the interface through which the REST API
// puts a SubmitJob into HylaFAX's queue.
//
// The package uses only the standard library; adapters for FreeSWITCH,
// HylaFAX, PostgreSQL and the configuration live in subpackages.
package gofaxlib
