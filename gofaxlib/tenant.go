package gofaxlib

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Scope says whose rows a store query may see: one tenant's (a tenant's
// credentials) or every tenant's (the operator). Every query on
// tenant-owned data takes one, so isolation shows in the signature; the
// zero Scope matches nothing and the store refuses it.
type Scope struct {
	tenantID string
	all      bool
}

// TenantScope limits a query to tenant id.
func TenantScope(id string) Scope { return Scope{tenantID: id} }

// OperatorScope lets a query see every tenant's rows (admin credentials).
func OperatorScope() Scope { return Scope{all: true} }

// Tenant returns the tenant id the scope is limited to, and false for the
// operator's scope.
func (s Scope) Tenant() (id string, limited bool) { return s.tenantID, !s.all }

// Valid reports whether s is a tenant's or the operator's scope.
func (s Scope) Valid() bool { return s.all != (s.tenantID != "") }

// Allows reports whether a row of tenant id is visible in s.
func (s Scope) Allows(tenantID string) bool {
	return s.all || (s.tenantID != "" && s.tenantID == tenantID)
}

func (s Scope) String() string {
	switch {
	case s.all:
		return "operator"
	case s.tenantID != "":
		return "tenant " + s.tenantID
	}
	return "no scope"
}

// Tenant is one customer of the server: it owns numbers, users and
// endpoints, and its faxes.
type Tenant struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	TimeZone  string `json:"time_zone"` // IANA name for dates in receipts, e.g. "Europe/Berlin"
	Suspended bool   `json:"suspended"` // no calls in or out, no logins; history stays
	// RetentionDays is how long archived documents are kept; 0 = forever.
	RetentionDays int       `json:"retention_days"`
	Created       time.Time `json:"created_at"`
	Updated       time.Time `json:"updated_at"`
}

// Limits of free-text fields: enough for any real value, small enough to
// print in a log line or a fax header.
const (
	MaxNameLen     = 200 // tenant names, endpoint targets' names, key names
	MaxHeaderLen   = 100 // page header text (spandsp prints one line)
	MaxIdentLen    = 20  // CSI/TSI: T.30 allows 20 characters
	MaxUsernameLen = 64
	MaxEmailLen    = 254 // RFC 5321 path limit
	MaxTargetLen   = 2000
	MaxRetention   = 100 * 366
)

// Validate checks t's fields, filling in the default time zone (UTC).
func (t *Tenant) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	if err := text("name", t.Name, MaxNameLen, true); err != nil {
		return err
	}
	if t.TimeZone == "" {
		t.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil || strings.ContainsAny(t.TimeZone, "\x00\r\n") || t.TimeZone == "Local" {
		return fieldErr("time_zone", "%q is not an IANA time zone name such as Europe/Berlin", t.TimeZone)
	}
	if t.RetentionDays < 0 || t.RetentionDays > MaxRetention {
		return fieldErr("retention_days", "%d: 0 (keep forever) to %d", t.RetentionDays, MaxRetention)
	}
	return nil
}

// text checks a free-text field: valid UTF-8, no control characters (they
// would end up in SIP headers, fax headers, log lines), at most max bytes.
func text(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return fieldErr(field, "required")
	case len(s) > max:
		return fieldErr(field, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		return fieldErr(field, "not valid UTF-8")
	case HasControl(s):
		return fieldErr(field, "control characters are not allowed")
	}
	return nil
}

// HasControl reports whether s holds a control character: C0 (CR, LF,
// NUL, ...), DEL or C1 (such as U+0085, a line break to some parsers).
// Such a character never belongs in a header, a protocol line or a log
// line.
func HasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// Number is a telephone number (DID) owned by one tenant, with the
// identity its faxes go out with.
type Number struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Number   string `json:"number"` // E.164, unique over all tenants
	// CallerIDName is the caller-ID name of faxes sent from this number.
	CallerIDName string `json:"caller_id_name"`
	// Header is the page header of faxes sent from this number.
	Header string `json:"header"`
	// Ident is the station identifier: CSI when receiving, TSI when
	// sending (at most 20 characters, printable ASCII as T.30 allows).
	Ident     string    `json:"ident"`
	Suspended bool      `json:"suspended"` // calls to and faxes from it are refused
	Created   time.Time `json:"created_at"`
	Updated   time.Time `json:"updated_at"`
}

// Validate normalises n.Number with plan and checks the other fields.
func (n *Number) Validate(plan NumberPlan) error {
	e, err := plan.E164(n.Number)
	if err != nil {
		return &FieldError{Field: "number", Err: err}
	}
	n.Number = e
	if n.TenantID == "" {
		return fieldErr("tenant_id", "required")
	}
	if err := text("caller_id_name", n.CallerIDName, MaxNameLen, false); err != nil {
		return err
	}
	if err := text("header", n.Header, MaxHeaderLen, false); err != nil {
		return err
	}
	if len(n.Ident) > MaxIdentLen || strings.IndexFunc(n.Ident, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		return fieldErr("ident", "at most %d printable ASCII characters", MaxIdentLen)
	}
	return nil
}

// Role is what a user may do within its tenant.
type Role string

// Roles of tenant users.
const (
	RoleTenantAdmin Role = "tenant-admin" // also manages the tenant's users and endpoints
	RoleUser        Role = "user"         // sends and reads faxes
)

// User is a person or program of a tenant: the owner of HylaFAX jobs
// (Username = the job's owner, for sendfax and hfaxd clients) and an API
// login. Password hashes and API keys never leave the store.
type User struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// Username is unique over all tenants (HylaFAX has one namespace).
	Username string `json:"username"`
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	// DefaultNumberID is the tenant's number a fax of this user is sent
	// from when the job names none ("" = none).
	DefaultNumberID string    `json:"default_number_id,omitempty"`
	Suspended       bool      `json:"suspended"`
	Created         time.Time `json:"created_at"`
	Updated         time.Time `json:"updated_at"`
}

// usernameRe is what HylaFAX takes as a job owner and an hfaxd login:
// no blanks, quotes or control characters.
var usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

// Validate checks u's fields (the role defaults to user).
func (u *User) Validate() error {
	if u.TenantID == "" {
		return fieldErr("tenant_id", "required")
	}
	if len(u.Username) > MaxUsernameLen || !usernameRe.MatchString(u.Username) {
		return fieldErr("username", "1 to %d of letters, digits and . _ @ + - (starting with a letter or digit)", MaxUsernameLen)
	}
	if u.Email != "" {
		if err := email("email", u.Email); err != nil {
			return err
		}
	}
	if u.Role == "" {
		u.Role = RoleUser
	}
	if u.Role != RoleTenantAdmin && u.Role != RoleUser {
		return fieldErr("role", "%q: tenant-admin or user", string(u.Role))
	}
	return nil
}

// email accepts one bare address (local@domain), as receipts need it.
func email(field, s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > MaxEmailLen || !strings.Contains(s, "@") || HasControl(s) {
		return fieldErr(field, "%q is not a plain e-mail address such as fax@example.com", clip(s))
	}
	return nil
}

// APIKey is a credential of a user for the REST API. Only a SHA-256 of the
// key is stored; the key itself is shown once when it is created.
type APIKey struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	UserID   string    `json:"user_id"`
	Name     string    `json:"name"`
	Prefix   string    `json:"prefix"` // the key's first characters, to recognise it
	Created  time.Time `json:"created_at"`
	LastUsed time.Time `json:"last_used_at"` // zero: never (updated at most once a minute)
	Revoked  time.Time `json:"revoked_at"`   // zero: valid
}

// EndpointScope is which faxes an endpoint serves.
type EndpointScope string

// Endpoint scopes: the number scope wins over the tenant scope; global
// endpoints are the operator's (upstream gateways, copies of receipts).
const (
	ScopeGlobal EndpointScope = "global"
	ScopeTenant EndpointScope = "tenant"
	ScopeNumber EndpointScope = "number"
)

// EndpointKind is what an endpoint is.
type EndpointKind string

// Endpoint kinds.
const (
	KindGateway EndpointKind = "gateway" // FreeSWITCH sofia gateway name, for sending
	KindWebhook EndpointKind = "webhook" // URL receiving signed receipts
	KindEmail   EndpointKind = "email"   // address receiving receipts
)

// Attach is what a receipt carries of the fax.
type Attach string

// What receipts attach (endpoint option "attach").
const (
	AttachNone      Attach = "none"
	AttachFirstPage Attach = "first_page"
	AttachPDF       Attach = "pdf" // the whole fax
)

// ReceiptEventNames are the event types an endpoint may ask for (option
// "events"); empty means all but fax.retrying.
var ReceiptEventNames = []string{
	"fax.received", "fax.receive_failed", "fax.delivered", "fax.failed", "fax.canceled", "fax.retrying",
}

// EndpointOptions are the kind-specific settings of an endpoint.
type EndpointOptions struct {
	// Dial is how numbers are dialled through a gateway (default e164).
	Dial DialFormat `json:"dial,omitempty"`
	// Events are the receipt events a webhook or email endpoint wants.
	Events []string `json:"events,omitempty"`
	// Attach is what a webhook or email receipt carries (default: none
	// for webhooks, pdf for email).
	Attach Attach `json:"attach,omitempty"`
	// Multipart sends a webhook's attachment as a multipart/form-data
	// part instead of base64 inside the JSON body (webhooks only).
	Multipart bool `json:"multipart,omitempty"`
	// Report adds the one-page transmission report PDF to an e-mail
	// receipt (email only).
	Report bool `json:"report,omitempty"`
}

// Endpoint is where faxes go: a gateway to send through, or a webhook or
// mailbox for receipts, at global, tenant or number scope.
type Endpoint struct {
	ID       string        `json:"id"`
	Scope    EndpointScope `json:"scope"`
	TenantID string        `json:"tenant_id,omitempty"` // tenant and number scope
	NumberID string        `json:"number_id,omitempty"` // number scope
	Kind     EndpointKind  `json:"kind"`
	// Target is the gateway name, the webhook URL or the e-mail address.
	Target string `json:"target"`
	// Priority orders endpoints of one scope: lower first.
	Priority int             `json:"priority"`
	Enabled  bool            `json:"enabled"`
	Options  EndpointOptions `json:"options"`
	// Secret signs webhooks ("whsec_" + base64). Never in JSON: the API
	// shows it once, on creation.
	Secret  string    `json:"-"`
	Created time.Time `json:"created_at"`
	Updated time.Time `json:"updated_at"`
}

// MaxPriority bounds Endpoint.Priority.
const MaxPriority = 1_000_000

// gatewayRe matches sofia gateway names that are safe in a dial string
// (as [freeswitch] gateway).
var gatewayRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Validate checks e's fields for its scope and kind and fills in option
// defaults.
func (e *Endpoint) Validate() error {
	switch e.Scope {
	case ScopeGlobal:
		if e.TenantID != "" || e.NumberID != "" {
			return fieldErr("scope", "a global endpoint has no tenant_id or number_id")
		}
	case ScopeTenant:
		if e.TenantID == "" || e.NumberID != "" {
			return fieldErr("scope", "a tenant endpoint has a tenant_id and no number_id")
		}
	case ScopeNumber:
		if e.TenantID == "" || e.NumberID == "" {
			return fieldErr("scope", "a number endpoint has a tenant_id and a number_id")
		}
	default:
		return fieldErr("scope", "%q: global, tenant or number", string(e.Scope))
	}
	if e.Priority < 0 || e.Priority > MaxPriority {
		return fieldErr("priority", "%d: 0 to %d", e.Priority, MaxPriority)
	}
	o := &e.Options
	switch e.Kind {
	case KindGateway:
		if len(e.Target) > MaxNameLen || !gatewayRe.MatchString(e.Target) {
			return fieldErr("target", "%q: a sofia gateway name of letters, digits, '_', '.' and '-'", clip(e.Target))
		}
		if len(o.Events) > 0 || o.Attach != "" || o.Multipart || o.Report {
			return fieldErr("options", "events, attach, multipart and report are for webhook and email endpoints")
		}
		if o.Dial == "" {
			o.Dial = DialE164
		}
		if !o.Dial.Valid() {
			return fieldErr("options.dial", "%q: e164, digits, international or national", string(o.Dial))
		}
		if e.Secret != "" {
			return fieldErr("secret", "only webhooks have a secret")
		}
		return nil
	case KindWebhook:
		if err := webhookURL(e.Target); err != nil {
			return err
		}
		if o.Attach == "" {
			o.Attach = AttachNone
		}
		if o.Report {
			return fieldErr("options.report", "only e-mail receipts carry the transmission report")
		}
	case KindEmail:
		if err := email("target", e.Target); err != nil {
			return err
		}
		if o.Attach == "" {
			o.Attach = AttachPDF
		}
		if e.Secret != "" {
			return fieldErr("secret", "only webhooks have a secret")
		}
		if o.Multipart {
			return fieldErr("options.multipart", "only webhooks send multipart bodies")
		}
	default:
		return fieldErr("kind", "%q: gateway, webhook or email", string(e.Kind))
	}
	if o.Dial != "" {
		return fieldErr("options.dial", "only gateways dial")
	}
	switch o.Attach {
	case AttachNone, AttachFirstPage, AttachPDF:
	default:
		return fieldErr("options.attach", "%q: none, first_page or pdf", string(o.Attach))
	}
	seen := map[string]bool{}
	for _, ev := range o.Events {
		if !slices.Contains(ReceiptEventNames, ev) {
			return fieldErr("options.events", "%q: one of %s", clip(ev), strings.Join(ReceiptEventNames, ", "))
		}
		if seen[ev] {
			return fieldErr("options.events", "%q given twice", ev)
		}
		seen[ev] = true
	}
	return nil
}

// webhookURL accepts absolute http and https URLs without credentials or
// fragment. Where a URL may point (no private ranges) is checked when it
// is connected to.
func webhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || len(s) > MaxTargetLen || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.Fragment != "" || strings.ContainsFunc(s, unicode.IsSpace) || HasControl(s) {
		return fieldErr("target", "%q is not an absolute http(s) URL without credentials", clip(s))
	}
	return nil
}

// WantsEvent reports whether a webhook or email endpoint takes receipts of
// event type name: the listed ones, or without a list all but fax.retrying.
func (e *Endpoint) WantsEvent(name string) bool {
	if len(e.Options.Events) == 0 {
		return name != "fax.retrying" && slices.Contains(ReceiptEventNames, name)
	}
	return slices.Contains(e.Options.Events, name)
}

// Page asks for one page of a list: at most Limit items (0 = DefaultLimit,
// capped at MaxLimit) after the item Cursor names ("" = from the start).
// Cursors are opaque; a list returns the cursor of its next page, "" after
// the last.
type Page struct {
	Cursor string
	Limit  int
}

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Size returns the effective limit.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// AuditEntry is one line of the audit log: who did what, when.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is who acted, e.g. "admin:<token name>", "user:<username>",
	// "api-key:<prefix>".
	Actor      string `json:"actor"`
	TenantID   string `json:"tenant_id,omitempty"` // the tenant acted on or as
	Action     string `json:"action"`              // e.g. "tenant.create", "fax.document.download"
	ObjectType string `json:"object_type,omitempty"`
	ObjectID   string `json:"object_id,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	Host       string `json:"host,omitempty"`
	// Details is a JSON object with what else matters (never secrets).
	Details []byte `json:"details,omitempty"`
}
