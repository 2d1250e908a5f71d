// Package gofaxlib holds the domain types that gofaxd and gofaxsend share:
// the outcome of one fax call (Result, PageResult), the spandsp T.30
// completion codes with a retry class each (T30Code, Class), the
// classification of FreeSWITCH hangup causes (CauseClass) and the decision
// what a sender does next (Decide, Outcome).
//
// The package uses only the standard library; adapters for FreeSWITCH,
// HylaFAX and the configuration live in subpackages.
package gofaxlib
