// Package notify delivers fax receipts: a Dispatcher works through the
// durable outbox (gofaxlib.Outbox) with bounded concurrency, exponential
// backoff with jitter and a dead-letter state, and hands each delivery to
// a Sender for its kind of endpoint: Webhook (signed per Standard
// Webhooks, https://www.standardwebhooks.com) or Mailer (SMTP with
// github.com/wneessen/go-mail).
//
// A webhook request for event evt_1 looks like this (the JSON body is the
// envelope, "data" the fax resource of the REST API):
//
//	POST /hook HTTP/1.1
//	Content-Type: application/json
//	webhook-id: evt_1
//	webhook-timestamp: 1614265330
//	webhook-signature: v1,<base64 HMAC-SHA256 of "evt_1.1614265330.<body>">
//
//	{"id":"evt_1","type":"fax.received","timestamp":"2021-02-25T15:02:10Z","data":{...}}
//
// The key is the base64 part of the endpoint's "whsec_" secret. 2xx means
// delivered, 410 Gone disables the endpoint, anything else is retried
// (Retry-After honoured within bounds); redirects are not followed, and
// the address actually connected to must pass an allow/deny list of
// networks, so a tenant cannot make the server probe its own network.
//
// The package knows nothing of SQL or the configuration file: gofaxd
// builds its parts from gofaxlib/config and an Outbox from the PostgreSQL
// adapter.
package notify
