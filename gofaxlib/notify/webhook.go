package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Defaults of WebhookConfig.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultTLSTimeout     = 10 * time.Second
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultWebhookTimeout = 60 * time.Second
)

const (
	// maxResponseBody bounds what is read of a webhook's answer: only
	// the status counts, the rest is read to reuse the connection and
	// quoted in errors.
	maxResponseBody = 64 << 10
	// maxResponseHeader bounds the answer's header block.
	maxResponseHeader = 64 << 10
	// quoteBody is how much of a failed answer's body an error quotes.
	quoteBody = 200
	// maxRetryAfterSeconds bounds a Retry-After value parsed (a week);
	// the dispatcher caps it further.
	maxRetryAfterSeconds = 7 * 24 * 3600
)

// WebhookConfig configures webhook delivery. Zero durations take the
// defaults.
type WebhookConfig struct {
	// Policy restricts the addresses connected to. Policy.Deny nil =
	// DefaultDeny; an empty non-nil list denies nothing.
	Policy         AddressPolicy
	ConnectTimeout time.Duration // TCP connect
	TLSTimeout     time.Duration // TLS handshake
	HeaderTimeout  time.Duration // from request sent to response header
	Timeout        time.Duration // the whole request, body read included
	UserAgent      string        // "" = "gofaxserver"
	TLSConfig      *tls.Config   // nil = system roots
	Now            func() time.Time
}

// Webhook sends receipts as signed HTTP POST requests (a Sender). It is
// safe for concurrent use.
type Webhook struct {
	client *http.Client
	ua     string
	now    func() time.Time
}

// NewWebhook returns a Webhook sender. Proxies from the environment are
// not used and redirects are not followed (a 3xx is a failure).
func NewWebhook(cfg WebhookConfig) *Webhook {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.ConnectTimeout, DefaultConnectTimeout)
	def(&cfg.TLSTimeout, DefaultTLSTimeout)
	def(&cfg.HeaderTimeout, DefaultHeaderTimeout)
	def(&cfg.Timeout, DefaultWebhookTimeout)
	if cfg.Policy.Deny == nil {
		cfg.Policy.Deny = DefaultDeny
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gofaxserver"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second, Control: cfg.Policy.control}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        cfg.TLSConfig,
		TLSHandshakeTimeout:    cfg.TLSTimeout,
		ResponseHeaderTimeout:  cfg.HeaderTimeout,
		MaxResponseHeaderBytes: maxResponseHeader,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &Webhook{
		client: &http.Client{
			Transport:     tr,
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ua:  cfg.UserAgent,
		now: cfg.Now,
	}
}

// Close closes idle connections.
func (w *Webhook) Close() { w.client.CloseIdleConnections() }

// Envelope is the JSON body of a webhook: the Standard Webhooks payload
// structure (type, timestamp, data) plus the event id and, when the
// endpoint wants the PDF inside the JSON, the attachments.
type Envelope struct {
	ID          string             `json:"id"`
	Type        gofaxlib.EventType `json:"type"`
	Timestamp   time.Time          `json:"timestamp"`
	Data        json.RawMessage    `json:"data"`
	Attachments []JSONAttachment   `json:"attachments,omitempty"`
}

// JSONAttachment is a file inside a webhook's JSON body.
type JSONAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64 in JSON
}

// Body returns the request body and its Content-Type for a delivery. With
// Target.Multipart and files, it is multipart/form-data: a part "payload"
// holding the JSON envelope and one part "file" per attachment.
func Body(d gofaxlib.Delivery, files []Attachment) ([]byte, string, error) {
	env := Envelope{ID: d.Event.ID, Type: d.Event.Type, Timestamp: d.Event.Time.UTC(), Data: d.Event.Payload}
	if len(env.Data) == 0 {
		env.Data = json.RawMessage("null")
	}
	for _, f := range files {
		if err := f.check(); err != nil {
			return nil, "", err
		}
	}
	multi := d.Target.Multipart && len(files) > 0
	if !multi {
		for _, f := range files {
			env.Attachments = append(env.Attachments, JSONAttachment{Filename: f.Name, ContentType: f.contentType(), Data: f.Data})
		}
	}
	js, err := json.Marshal(env)
	if err != nil {
		return nil, "", Permanent(fmt.Errorf("notify: event %s: %w", d.Event.ID, err))
	}
	if !multi {
		return js, "application/json", nil
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload"`)
	h.Set("Content-Type", "application/json")
	p, err := mw.CreatePart(h)
	if err == nil {
		_, err = p.Write(js)
	}
	for _, f := range files {
		if err != nil {
			break
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", contentDisposition("form-data", "file", f.Name))
		h.Set("Content-Type", f.contentType())
		if p, err = mw.CreatePart(h); err == nil {
			_, err = p.Write(f.Data)
		}
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// contentDisposition builds a Content-Disposition value with a file
// name: quoted when plain ASCII, else as RFC 5987 filename* with an ASCII
// fallback.
func contentDisposition(disp, name, filename string) string {
	filename = safeFileName(filename)
	v := fmt.Sprintf("%s; name=%q", disp, name)
	if plainASCII(filename) {
		return v + fmt.Sprintf("; filename=%q", filename)
	}
	fallback := strings.Map(func(r rune) rune {
		if r >= 0x7f {
			return '_'
		}
		return r
	}, filename)
	return v + fmt.Sprintf("; filename=%q; filename*=%s", fallback, extValue(filename))
}

// validID is what goes into the webhook-id header: printable ASCII
// without spaces, bounded.
func validID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// StatusError is a webhook answer other than 2xx.
type StatusError struct {
	Code int
	Body string // the start of the answer's body, printable characters only
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("notify: webhook answered %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("notify: webhook answered %d %s: %q", e.Code, http.StatusText(e.Code), e.Body)
}

// Send implements Sender: one signed POST of the delivery to its URL.
func (w *Webhook) Send(ctx context.Context, d gofaxlib.Delivery, files []Attachment) error {
	u, err := url.Parse(d.Target.Address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Permanent(fmt.Errorf("notify: webhook url %q is not an http(s) URL", d.Target.Address))
	}
	if !validID(d.Event.ID) {
		return Permanent(fmt.Errorf("notify: event id %q cannot be a webhook-id", d.Event.ID))
	}
	body, ctype, err := Body(d, files)
	if err != nil {
		return err
	}
	ts := w.now()
	sig, err := Sign(d.Target.Secret, d.Event.ID, ts, body)
	if err != nil {
		return Permanent(fmt.Errorf("notify: endpoint %s: %w", d.Target.EndpointID, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("notify: webhook request: %w", err))
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", w.ua)
	req.Header.Set("webhook-id", d.Event.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: webhook %s: %w", u.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, quoteBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody-quoteBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	serr := &StatusError{Code: resp.StatusCode, Body: printable(head)}
	if resp.StatusCode == http.StatusGone {
		return fmt.Errorf("%w: %w", ErrGone, serr)
	}
	if ra := parseRetryAfter(resp.Header.Get("Retry-After"), w.now()); ra > 0 {
		return &RetryAfterError{After: ra, Err: serr}
	}
	return serr
}

// unwrapURLError drops *url.Error's "Post <url>:" prefix (the caller
// names the redacted URL) but keeps its chain.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, strings.TrimSpace(string(b)))
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an
// HTTP-date. 0 when absent, invalid or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(min(n, maxRetryAfterSeconds)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfterSeconds*time.Second)
}
