package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// loopback lets webhooks reach httptest servers on 127.0.0.1.
var loopback = AddressPolicy{Allow: mustPrefixes("127.0.0.0/8", "::1/128")}

func testSecret(t testing.TB) string {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testEvent(id string) gofaxlib.Event {
	return gofaxlib.Event{
		ID: id, Type: gofaxlib.EventReceived, TenantID: "t1", FaxID: "fax-" + id,
		Time:    time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Payload: json.RawMessage(`{"id":"fax-` + id + `","direction":"in","status":"received","from":"+4930123","to":"+4930999","pages":{"total":2,"transferred":2}}`),
	}
}

func webhookDelivery(t testing.TB, url, secret, id string) gofaxlib.Delivery {
	return gofaxlib.Delivery{
		ID: "dlv-" + id, Event: testEvent(id), Status: gofaxlib.DeliveryPending,
		Target: gofaxlib.DeliveryTarget{EndpointID: "ep1", Kind: gofaxlib.TargetWebhook, Address: url, Secret: secret},
	}
}

// hook is one request a test receiver got.
type hook struct {
	header http.Header
	body   []byte
	err    error // signature check
}

// receiver is a webhook endpoint that checks every signature with Verify
// and answers with reply.
type receiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	got    []hook
	reply  func(w http.ResponseWriter, r *http.Request, n int)
}

func newReceiver(t testing.TB, secret string, reply func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{secret: secret, reply: reply}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		err := Verify(rc.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now())
		rc.mu.Lock()
		rc.got = append(rc.got, hook{r.Header.Clone(), body, err})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.reply != nil {
			rc.reply(w, r, n)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.got...)
}

func TestWebhookSignedJSON(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	w := NewWebhook(WebhookConfig{Policy: loopback})
	defer w.Close()
	d := webhookDelivery(t, rc.URL+"/hook", secret, "evt_1")
	if err := w.Send(context.Background(), d, nil); err != nil {
		t.Fatal(err)
	}
	got := rc.hooks()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	h := got[0]
	if h.err != nil {
		t.Errorf("signature: %v", h.err)
	}
	if h.header.Get("webhook-id") != "evt_1" || h.header.Get("Content-Type") != "application/json" || h.header.Get("User-Agent") != "gofaxserver" {
		t.Errorf("headers %v", h.header)
	}
	var env struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(h.body, &env); err != nil {
		t.Fatal(err)
	}
	if env.ID != "evt_1" || env.Type != "fax.received" || !env.Timestamp.Equal(d.Event.Time) || !bytes.Equal(env.Data, d.Event.Payload) {
		t.Errorf("body %s", h.body)
	}
	if bytes.Contains(h.body, []byte("attachments")) {
		t.Errorf("attachments without files: %s", h.body)
	}
}

func TestWebhookAttachments(t *testing.T) {
	pdf := []byte("%PDF-1.4 not really\x00\xff")
	files := []Attachment{{Name: "Fax für Müller.pdf", Data: pdf}}
	secret := testSecret(t)
	t.Run("base64 in json", func(t *testing.T) {
		rc := newReceiver(t, secret, nil)
		w := NewWebhook(WebhookConfig{Policy: loopback})
		d := webhookDelivery(t, rc.URL, secret, "evt_2")
		if err := w.Send(context.Background(), d, files); err != nil {
			t.Fatal(err)
		}
		h := rc.hooks()[0]
		if h.err != nil {
			t.Error(h.err)
		}
		var env Envelope
		if err := json.Unmarshal(h.body, &env); err != nil {
			t.Fatal(err)
		}
		if len(env.Attachments) != 1 || !bytes.Equal(env.Attachments[0].Data, pdf) ||
			env.Attachments[0].Filename != files[0].Name || env.Attachments[0].ContentType != "application/pdf" {
			t.Errorf("attachments %+v", env.Attachments)
		}
	})
	t.Run("multipart", func(t *testing.T) {
		rc := newReceiver(t, secret, nil)
		w := NewWebhook(WebhookConfig{Policy: loopback})
		d := webhookDelivery(t, rc.URL, secret, "evt_3")
		d.Target.Multipart = true
		if err := w.Send(context.Background(), d, files); err != nil {
			t.Fatal(err)
		}
		h := rc.hooks()[0]
		if h.err != nil {
			t.Error(h.err)
		}
		mt, params, err := mime.ParseMediaType(h.header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			t.Fatalf("content type %q", h.header.Get("Content-Type"))
		}
		mr := multipart.NewReader(bytes.NewReader(h.body), params["boundary"])
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "payload" {
			t.Fatalf("first part %v %v", p, err)
		}
		var env Envelope
		if err := json.NewDecoder(p).Decode(&env); err != nil || env.ID != "evt_3" || len(env.Attachments) != 0 {
			t.Errorf("payload part: %+v %v", env, err)
		}
		p, err = mr.NextPart()
		if err != nil || p.FormName() != "file" {
			t.Fatalf("second part %v %v", p, err)
		}
		data, _ := io.ReadAll(p)
		if !bytes.Equal(data, pdf) || p.FileName() != files[0].Name || p.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("file part %q %q %q", p.FileName(), p.Header.Get("Content-Type"), data)
		}
	})
}

func TestWebhookAnswers(t *testing.T) {
	secret := testSecret(t)
	tests := []struct {
		name      string
		reply     func(w http.ResponseWriter, r *http.Request, n int)
		ok        bool
		gone      bool
		retry     bool
		after     time.Duration
		errSubstr string
	}{
		{"200", func(w http.ResponseWriter, r *http.Request, n int) {}, true, false, false, 0, ""},
		{"204", func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(204) }, true, false, false, 0, ""},
		{"410 gone", func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(410) }, false, true, false, 0, "410"},
		{"500 retried", func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(500)
			io.WriteString(w, "database\r\nexploded")
		}, false, false, true, 0, `500 Internal Server Error: "databaseexploded"`},
		{"404 retried", func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(404) }, false, false, true, 0, "404"},
		{"503 retry-after seconds", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(503)
		}, false, false, true, 120 * time.Second, "503"},
		{"429 retry-after date", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(429)
		}, false, false, true, time.Hour, "429"},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request, n int) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, false, false, true, 0, "302"},
		{"huge body read bounded", func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(500)
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for i := 0; i < 160; i++ { // 10 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, false, false, true, 0, "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, secret, tt.reply)
			w := NewWebhook(WebhookConfig{Policy: loopback})
			defer w.Close()
			err := w.Send(context.Background(), webhookDelivery(t, rc.URL, secret, "evt_a"), nil)
			if tt.ok != (err == nil) || tt.gone != errors.Is(err, ErrGone) || tt.retry != Retryable(err) {
				t.Fatalf("Send = %v: ok %v gone %v retryable %v", err, err == nil, errors.Is(err, ErrGone), Retryable(err))
			}
			if err != nil && !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("error %q lacks %q", err, tt.errSubstr)
			}
			if got := retryAfter(err); got < tt.after-2*time.Second || got > tt.after {
				t.Errorf("retry after %v, want about %v", got, tt.after)
			}
			var se *StatusError
			if err != nil && errors.As(err, &se) && len(se.Body) > quoteBody {
				t.Errorf("error quotes %d bytes", len(se.Body))
			}
			for _, h := range rc.hooks() {
				if h.header.Get("webhook-id") != "evt_a" {
					t.Errorf("request %v", h.header)
				}
			}
			if n := len(rc.hooks()); n != 1 {
				t.Errorf("%d requests (a redirect is not followed)", n)
			}
		})
	}
}

func TestWebhookRefusesLocalNetworks(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	port := rc.URL[strings.LastIndexByte(rc.URL, ':')+1:]
	w := NewWebhook(WebhookConfig{}) // default policy
	defer w.Close()
	for _, u := range []string{
		rc.URL,                     // 127.0.0.1
		"http://localhost:" + port, // a name resolving to loopback: checked after resolution
		"http://[::ffff:127.0.0.1]:" + port,
	} {
		err := w.Send(context.Background(), webhookDelivery(t, u, secret, "evt_b"), nil)
		if !errors.Is(err, ErrBlocked) || Retryable(err) {
			t.Errorf("%s: %v, want blocked for good", u, err)
		}
	}
	if n := len(rc.hooks()); n != 0 {
		t.Errorf("blocked target got %d requests", n)
	}
	// An explicit allow opens it.
	allow, _ := ParsePrefixes([]string{"127.0.0.1"})
	w2 := NewWebhook(WebhookConfig{Policy: AddressPolicy{Allow: allow}})
	defer w2.Close()
	if err := w2.Send(context.Background(), webhookDelivery(t, rc.URL, secret, "evt_b"), nil); err != nil {
		t.Errorf("allowed: %v", err)
	}
}

func TestWebhookIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(500)
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	w := NewWebhook(WebhookConfig{Policy: loopback})
	defer w.Close()
	// httptest's URL is 127.0.0.1, which ProxyFromEnvironment would skip
	// anyway; a name is not.
	u := strings.Replace(rc.URL, "127.0.0.1", "localhost", 1)
	if err := w.Send(context.Background(), webhookDelivery(t, u, secret, "evt_c"), nil); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 0 || len(rc.hooks()) != 1 {
		t.Errorf("proxy got %d, target %d requests", proxied.Load(), len(rc.hooks()))
	}
}

func TestWebhookTimeouts(t *testing.T) {
	secret := testSecret(t)
	release := make(chan struct{})
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tests := []struct {
		name string
		cfg  WebhookConfig
	}{
		{"response header", WebhookConfig{Policy: loopback, HeaderTimeout: 200 * time.Millisecond}},
		{"total", WebhookConfig{Policy: loopback, Timeout: 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWebhook(tt.cfg)
			defer w.Close()
			start := time.Now()
			err := w.Send(context.Background(), webhookDelivery(t, rc.URL, secret, "evt_d"), nil)
			if err == nil || !Retryable(err) {
				t.Errorf("Send = %v, want a retryable timeout", err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	// A silent listener: nothing answers, not even TLS.
	t.Run("connect and tls", func(t *testing.T) {
		ln := newSilentListener(t)
		w := NewWebhook(WebhookConfig{Policy: loopback, TLSTimeout: 200 * time.Millisecond})
		defer w.Close()
		err := w.Send(context.Background(), webhookDelivery(t, "https://"+ln, secret, "evt_e"), nil)
		if err == nil || !Retryable(err) || !strings.Contains(err.Error(), "TLS handshake timeout") {
			t.Errorf("Send = %v, want a TLS handshake timeout", err)
		}
	})
}

func TestWebhookBadTargets(t *testing.T) {
	secret := testSecret(t)
	w := NewWebhook(WebhookConfig{Policy: loopback})
	for name, d := range map[string]gofaxlib.Delivery{
		"ftp url":    webhookDelivery(t, "ftp://example.com/x", secret, "evt_f"),
		"no host":    webhookDelivery(t, "http:///x", secret, "evt_f"),
		"bad secret": webhookDelivery(t, "http://127.0.0.1:1/x", "whsec_short", "evt_f"),
		"crlf id":    webhookDelivery(t, "http://127.0.0.1:1/x", secret, "evt\r\nX-Evil: 1"),
	} {
		if err := w.Send(context.Background(), d, nil); !errors.Is(err, ErrPermanent) {
			t.Errorf("%s: %v, want permanent", name, err)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"30":                            30 * time.Second,
		" 30 ":                          30 * time.Second,
		"-5":                            0,
		"99999999999":                   0, // not a 32-bit number: ignored
		"3000000":                       7 * 24 * time.Hour,
		"Fri, 02 Jan 2026 03:05:05 GMT": time.Minute,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0, // past
		"soon":                          0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Fri, 02 Jan 2026 03:05:05 GMT", "Friday, 02-Jan-26 03:05:05 GMT", "Fri Jan  2 03:05:05 2026"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseRetryAfter(s, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		if d < 0 || d > maxRetryAfterSeconds*time.Second {
			t.Errorf("parseRetryAfter(%q) = %v", s, d)
		}
	})
}
