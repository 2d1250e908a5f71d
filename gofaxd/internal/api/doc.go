// Package api is gofaxd's REST API ([web] in gofax.conf): JSON over HTTP(S)
// under /v1, described by the OpenAPI 3.1 document it serves at
// /v1/openapi.json (openapi.json in this directory).
//
// The operator (Authorization: Bearer with an admin token, configured as
// its SHA-256) manages tenants, numbers, users, API keys and endpoints and
// reads every tenant's faxes. A tenant's users (Bearer with an API key, or
// Basic with their name and password) read their tenant's faxes, send and
// cancel faxes; tenant-admins also manage their tenant's users, API keys,
// webhooks and mailboxes, and see and re-deliver their tenant's receipt
// events (/v1/events). Every route needs credentials, every tenant
// request is scoped to the caller's tenant (another tenant's object is
// answered exactly like a missing one), and each credential has a token
// bucket rate limit.
//
// Errors are RFC 9457 problem documents from one table mapping the
// domain's sentinel errors (gofaxlib.ErrNotFound, ErrConflict, FieldError,
// …) to statuses (statusTable); a server error shows only its request id.
// Request bodies are decoded with a size limit and without unknown fields;
// responses come from one encoder.
//
// Faxes are sent as multipart/form-data: the documents are streamed to
// Options.UploadDir, recognised by content (PDF or TIFF), checked and
// counted (pdfinfo through gofaxlib/hook, faxdoc), the fax row is written
// with its Idempotency-Key, the documents and job are kept under the fax
// id, and a gofaxlib.Submitter puts the job into HylaFAX's queue; then the
// job is recorded. One submission of a fax runs at a time (lockFax); a
// request repeated with the Idempotency-Key of one that never reached
// HylaFAX finishes it (Submitter.Lookup by the fax id, else submitting
// it), and Recover does the same for what a crash or an unconfirmed
// submission (gofaxlib.ErrOutcomeUnknown) left, at start and then
// periodically.
//
// Documents are served from the archive only (Options.ArchiveDir), as
// PDF (faxdoc, CCITT data passed through) or as the archived TIFF, by the
// Accept header; the softmodem fallback list through a FallbackList.
//
// Server has the usual life cycle: New checks the options, Open binds
// (synchronously, also a given listener) and serves, Shutdown drains and
// waits for every handler.
package api
