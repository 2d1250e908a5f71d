package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// part is one leaf of a parsed message.
type part struct {
	contentType string
	filename    string // decoded
	data        []byte // transfer-decoded
}

var wordDecoder = &mime.WordDecoder{}

// parseMail reads a message the way a mail client does.
func parseMail(t testing.TB, raw []byte) (*mail.Message, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, raw)
	}
	var parts []part
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, err := mime.ParseMediaType(get("Content-Type"))
		if err != nil {
			t.Fatalf("content type %q: %v", get("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header, p)
			}
		}
		var data []byte
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "base64":
			data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
		case "quoted-printable":
			data, err = io.ReadAll(quotedprintable.NewReader(body))
		default:
			data, err = io.ReadAll(body)
		}
		if err != nil {
			t.Fatal(err)
		}
		p := part{contentType: mt, data: data}
		if cd := get("Content-Disposition"); cd != "" {
			_, dp, err := mime.ParseMediaType(cd)
			if err != nil {
				t.Fatalf("content disposition %q: %v", cd, err)
			}
			if p.filename, err = wordDecoder.DecodeHeader(dp["filename"]); err != nil {
				t.Fatalf("file name %q: %v", dp["filename"], err)
			}
		}
		parts = append(parts, p)
	}
	walk(m.Header, m.Body)
	return m, parts
}

func TestSMTPMode(t *testing.T) {
	for _, tt := range []struct {
		port int
		mode TLSMode
		want TLSMode
	}{
		{0, "", TLSStartTLS}, // 587
		{587, TLSAuto, TLSStartTLS},
		{465, "", TLSImplicit},
		{25, "", TLSOpportunistic},
		{2525, "", TLSStartTLS},
		{465, TLSStartTLS, TLSStartTLS},
		{25, TLSNone, TLSNone},
	} {
		if got := (SMTPConfig{Port: tt.port, TLS: tt.mode}).Mode(); got != tt.want {
			t.Errorf("port %d mode %q: %q, want %q", tt.port, tt.mode, got, tt.want)
		}
	}
}

func receiptEvent() gofaxlib.Event {
	return gofaxlib.Event{
		ID: "evt_mail1", Type: gofaxlib.EventReceived, TenantID: "t1", FaxID: "fax1",
		Time:     time.Date(2026, 7, 1, 10, 30, 0, 0, time.UTC),
		TimeZone: "Europe/Berlin",
		Payload: json.RawMessage(`{"id":"fax1","direction":"in","status":"received","from":"+49301234567","to":"+4940998877",
			"remote_station_id":"+49 30 1234567","pages":{"total":3,"transferred":3}}`),
	}
}

// TestMailerStartTLSReceipt sends a receipt through STARTTLS with AUTH to a
// real SMTP server: it arrives with Date, Message-ID, the body's facts and
// both PDFs, which pdfinfo opens with their pages.
func TestMailerStartTLSReceipt(t *testing.T) {
	cert := newTestCert(t)
	srv := startSMTPD(t, smtpdOpts{mode: "starttls", cert: cert, user: "fax", pass: "s3cret"})
	m, err := NewMailer(SMTPConfig{
		Host: "127.0.0.1", Port: srv.Port, TLS: TLSStartTLS, Username: "fax", Password: "s3cret",
		From: "Fax Server <fax@example.com>", TLSConfig: cert.clientConfig(),
	})
	if err != nil {
		t.Fatal(err)
	}
	fax, report := makePDF(t, 3), makePDF(t, 1)
	d := gofaxlib.Delivery{ID: "dlv1", Event: receiptEvent(),
		Target: gofaxlib.DeliveryTarget{EndpointID: "ep-mail", Kind: gofaxlib.TargetEmail, Address: "Büro <office@example.com>, boss@example.com", Attach: gofaxlib.AttachPDF, Report: true}}
	files := []Attachment{{Name: "fax-fax1.pdf", Data: fax}, {Name: "report-fax1.pdf", Data: report}}
	if err := m.Send(context.Background(), d, files); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	s := msgs[0]
	if !s.TLS || s.Auth != "fax" || s.MailFrom != "fax@example.com" || strings.Join(s.RcptTos, " ") != "office@example.com boss@example.com" {
		t.Errorf("envelope from %s to %v tls %v auth %v", s.MailFrom, s.RcptTos, s.TLS, s.Auth)
	}
	if !strings.HasPrefix(srv.authLog(), "PLAIN tls=True") {
		t.Errorf("auth log %q", srv.authLog())
	}
	msg, parts := parseMail(t, s.Raw)
	date, err := msg.Header.Date()
	if err != nil || !date.Equal(d.Event.Time) {
		t.Errorf("Date %q: %v", msg.Header.Get("Date"), err)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<receipt.") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	subj, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != "Fax received from +49301234567 (3 pages)" {
		t.Errorf("Subject %q: %v", subj, err)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 2 || to[0].Name != "Büro" {
		t.Errorf("To %q: %v", msg.Header.Get("To"), err)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	body := string(parts[0].data)
	for _, want := range []string{"Fax received.", "From:     +49301234567", "Station:  +49 30 1234567", "To:       +4940998877",
		"Pages:    3", "Result:   OK", "Time:     Wed, 01 Jul 2026 12:30:00 CEST (Europe/Berlin)", "Event:    evt_mail1"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	for i, want := range []struct {
		name  string
		pages int
	}{{"fax-fax1.pdf", 3}, {"report-fax1.pdf", 1}} {
		p := parts[i+1]
		if p.contentType != "application/pdf" || p.filename != want.name {
			t.Errorf("attachment %d: %s %q", i, p.contentType, p.filename)
		}
		if n := pdfPages(t, p.data); n != want.pages {
			t.Errorf("attachment %s has %d pages, want %d", want.name, n, want.pages)
		}
	}
	// The same delivery again (a repeat after a crash): same Message-ID.
	if err := m.Send(context.Background(), d, files); err != nil {
		t.Fatal(err)
	}
	again, _ := parseMail(t, srv.messages(t)[1].Raw)
	if again.Header.Get("Message-Id") != msg.Header.Get("Message-Id") {
		t.Errorf("Message-ID differs on repeat: %s %s", again.Header.Get("Message-Id"), msg.Header.Get("Message-Id"))
	}
}

// TestMailerImplicitTLS: port-465 style TLS from the first byte, AUTH, a
// subject and a file name that are not ASCII.
func TestMailerImplicitTLS(t *testing.T) {
	cert := newTestCert(t)
	srv := startSMTPD(t, smtpdOpts{mode: "tls", cert: cert, user: "fax", pass: "pw"})
	m, err := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: TLSImplicit, Username: "fax", Password: "pw",
		From: "fax@example.com", TLSConfig: cert.clientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	pdf := makePDF(t, 2)
	subject := "Télécopie von Müller – 2 Seiten ✓, and a subject long enough to be folded over several lines"
	name := "Übersicht für Jürgen – Telefax vom 1. Juli 2026, alle Seiten.pdf"
	if err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: subject, Body: "Grüße\n",
		Attachments: []Attachment{{Name: name, Data: pdf}}}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages(t)
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].Auth != "fax" {
		t.Fatalf("messages %+v", msgs)
	}
	msg, parts := parseMail(t, msgs[0].Raw)
	for _, l := range bytes.Split(msgs[0].Raw, []byte("\r\n")) {
		if bytes.IndexFunc(l, func(r rune) bool { return r >= 0x80 }) >= 0 || len(l) > 78 {
			t.Errorf("raw line with 8-bit bytes or over 78 characters: %q", l)
			break
		}
	}
	if got, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject %q → %q, %v", msg.Header.Get("Subject"), got, err)
	}
	if _, err := msg.Header.Date(); err != nil || msg.Header.Get("Message-Id") == "" {
		t.Errorf("Date %q (%v), Message-ID %q", msg.Header.Get("Date"), err, msg.Header.Get("Message-Id"))
	}
	if len(parts) != 2 || parts[1].filename != name || pdfPages(t, parts[1].data) != 2 {
		t.Errorf("attachment %q", parts[len(parts)-1].filename)
	}
	if string(parts[0].data) != "Grüße\n" && string(parts[0].data) != "Grüße\r\n" {
		t.Errorf("body %q", parts[0].data)
	}
	if !bytes.Contains(msgs[0].Raw, []byte("filename*0*=UTF-8''%C3%9Cbersicht%20f%C3%BCr%20J%C3%BCrgen")) {
		t.Error("no RFC 2231 file name")
	}
	// A second, independent reader: Python's e-mail package.
	py := exec.Command(notifytest.Python, "-c", `import email, email.policy, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
print(m["subject"])
for a in m.iter_attachments(): print(a.get_filename())`)
	py.Stdin = bytes.NewReader(msgs[0].Raw)
	out, err := py.Output()
	if want := subject + "\n" + name + "\n"; err != nil || string(out) != want {
		t.Errorf("python reads %q (%v), want %q", out, err, want)
	}
}

// TestMailerNoAuthWithoutTLS: a server that offers AUTH but no TLS never
// gets the credentials.
func TestMailerNoAuthWithoutTLS(t *testing.T) {
	srv := startSMTPD(t, smtpdOpts{mode: "plain", user: "fax", pass: "pw"})
	for _, mode := range []TLSMode{TLSOpportunistic, TLSNone} {
		m, err := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: mode, Username: "fax", Password: "pw", From: "fax@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		err = m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: "x", Body: "x"})
		if !errors.Is(err, ErrAuthWithoutTLS) || !Retryable(err) {
			t.Errorf("%s: %v, want ErrAuthWithoutTLS (retryable: the operator fixes it)", mode, err)
		}
	}
	// Mandatory STARTTLS against a server without it: no mail, retryable.
	m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: TLSStartTLS, Username: "fax", Password: "pw", From: "fax@example.com"})
	if err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: "x", Body: "x"}); err == nil || !Retryable(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("starttls without server support: %v", err)
	}
	if log := srv.authLog(); log != "" {
		t.Errorf("the server saw AUTH: %q", log)
	}
	if n := len(srv.messages(t)); n != 0 {
		t.Errorf("%d messages", n)
	}
	// Without credentials, plain text is allowed where configured.
	m, _ = NewMailer(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: TLSOpportunistic, From: "fax@example.com"})
	if err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: "x", Body: "x"}); err != nil {
		t.Errorf("plain without auth: %v", err)
	}
}

func TestMailerFailures(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: freePort(t), TLS: TLSStartTLS, From: "fax@example.com", Timeout: 5 * time.Second})
		err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: "x", Body: "x"})
		if err == nil || !Retryable(err) {
			t.Errorf("%v, want a retryable error", err)
		}
	})
	t.Run("server silent", func(t *testing.T) {
		m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: portOf(t, newSilentListener(t)), From: "fax@example.com", Timeout: 300 * time.Millisecond})
		start := time.Now()
		err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Subject: "x", Body: "x"})
		if err == nil || !Retryable(err) || time.Since(start) > 30*time.Second {
			t.Errorf("%v after %v, want a retryable timeout", err, time.Since(start))
		}
	})
	t.Run("recipient refused for good", func(t *testing.T) {
		srv := startSMTPD(t, smtpdOpts{mode: "plain", rejectRcpt: "nobody@example.com"})
		m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: TLSNone, From: "fax@example.com"})
		err := m.SendMail(context.Background(), Mail{To: []string{"nobody@example.com"}, Subject: "x", Body: "x"})
		if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "550") {
			t.Errorf("%v, want permanent 550", err)
		}
	})
	t.Run("bad addresses", func(t *testing.T) {
		m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: 1, From: "fax@example.com"})
		for _, to := range [][]string{nil, {"not an address"}, {"a@example.com\r\nBcc: x@example.com"}} {
			if err := m.SendMail(context.Background(), Mail{To: to, Subject: "x"}); !errors.Is(err, ErrPermanent) {
				t.Errorf("to %q: %v", to, err)
			}
		}
	})
	t.Run("config", func(t *testing.T) {
		for name, c := range map[string]SMTPConfig{
			"no host":  {From: "a@example.com"},
			"bad from": {Host: "h", From: "nobody"},
			"bad mode": {Host: "h", From: "a@example.com", TLS: "ssl"},
			"bad port": {Host: "h", From: "a@example.com", Port: 70000},
		} {
			if _, err := NewMailer(c); err == nil {
				t.Errorf("%s accepted", name)
			}
		}
	})
}

func portOf(t testing.TB, addr string) int {
	var p int
	if _, err := fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDispatcherMailServerDownForAWhile: mail
// receipts queued while the SMTP server is down are all delivered once it
// is back, none lost.
func TestDispatcherMailServerDownForAWhile(t *testing.T) {
	needAiosmtpd(t)
	const events = 20
	port := freePort(t)
	m, err := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "fax@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ob := notifytest.NewOutbox()
	for i := range events {
		ev := receiptEvent()
		ev.ID = fmt.Sprintf("evt_m%02d", i)
		ob.Add(ev, gofaxlib.DeliveryTarget{EndpointID: "mail", Kind: gofaxlib.TargetEmail, Address: "office@example.com"})
	}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetEmail: m}, nil)
	cfg.Schedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond,
		time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second}
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "every receipt tried and failed", func() bool {
		for _, d := range ob.All() {
			if d.Attempts < 2 {
				return false
			}
		}
		return true
	})
	if ob.Count(gofaxlib.DeliveryDelivered) != 0 || ob.Count(gofaxlib.DeliveryDead) != 0 {
		t.Fatalf("delivered %d, dead %d while the server is down", ob.Count(gofaxlib.DeliveryDelivered), ob.Count(gofaxlib.DeliveryDead))
	}
	srv := startSMTPD(t, smtpdOpts{mode: "plain", port: port})
	waitFor(t, 2*time.Minute, "all delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == events })
	msgs := srv.messages(t)
	ids := map[string]bool{}
	for _, s := range msgs {
		msg, _ := parseMail(t, s.Raw)
		ids[msg.Header.Get("Message-Id")] = true
	}
	if len(msgs) != events || len(ids) != events {
		t.Errorf("%d messages with %d distinct Message-IDs, want %d", len(msgs), len(ids), events)
	}
}
