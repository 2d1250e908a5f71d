package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// TLSMode says how the connection to the mail server is encrypted.
type TLSMode string

// TLS modes of SMTPConfig.
const (
	TLSAuto          TLSMode = "auto"          // by port: 465 tls, 25 opportunistic, others starttls
	TLSStartTLS      TLSMode = "starttls"      // STARTTLS, mandatory
	TLSImplicit      TLSMode = "tls"           // TLS from the first byte (SMTPS)
	TLSOpportunistic TLSMode = "opportunistic" // STARTTLS when offered, else plain
	TLSNone          TLSMode = "none"          // plain text
)

// TLSModes lists the modes a configuration may name.
var TLSModes = []TLSMode{TLSAuto, TLSStartTLS, TLSImplicit, TLSOpportunistic, TLSNone}

// Defaults of SMTPConfig.
const (
	DefaultSMTPPort    = 587
	DefaultSMTPTimeout = 60 * time.Second
)

// SMTPConfig configures the mail server receipts go through.
type SMTPConfig struct {
	Host string
	Port int     // 0 = DefaultSMTPPort
	TLS  TLSMode // "" = TLSAuto
	// Username and Password, when set, are sent with AUTH (PLAIN, else
	// LOGIN) — only over TLS: without TLS the attempt fails before AUTH.
	Username, Password string
	From               string        // sender address, may have a display name
	HELO               string        // "" = the host name
	Timeout            time.Duration // per SMTP command and for connecting; 0 = DefaultSMTPTimeout
	TLSConfig          *tls.Config   // nil = system roots, ServerName = Host
}

// Mode resolves TLSAuto by port: 465 is implicit TLS, 25 opportunistic
// STARTTLS (server to server), any other (587) mandatory STARTTLS.
func (c SMTPConfig) Mode() TLSMode {
	if c.TLS != "" && c.TLS != TLSAuto {
		return c.TLS
	}
	switch c.port() {
	case 465:
		return TLSImplicit
	case 25:
		return TLSOpportunistic
	}
	return TLSStartTLS
}

func (c SMTPConfig) port() int {
	if c.Port == 0 {
		return DefaultSMTPPort
	}
	return c.Port
}

// Mailer sends mail through one SMTP server, one connection per message
// (a Sender for e-mail receipts). It is safe for concurrent use.
type Mailer struct {
	cfg  SMTPConfig
	from *mail.Address
	helo string
}

// NewMailer checks cfg.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("notify: smtp: no host")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: smtp: port %d", cfg.Port)
	}
	if cfg.TLS != "" && !slices.Contains(TLSModes, cfg.TLS) {
		return nil, fmt.Errorf("notify: smtp: unknown tls mode %q", cfg.TLS)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp: from %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	helo := cfg.HELO
	if helo == "" {
		if helo, err = os.Hostname(); err != nil || helo == "" {
			helo = "localhost"
		}
	}
	return &Mailer{cfg: cfg, from: from, helo: helo}, nil
}

// Mail is one message.
type Mail struct {
	To          []string // addresses, each may have a display name
	Subject     string   // any UTF-8; encoded as needed
	Body        string   // plain text
	Date        time.Time
	MessageID   string // without angle brackets; "" = random
	Attachments []Attachment
}

// Send implements Sender: the receipt of d, rendered by Receipt, to the
// target's addresses with files attached. Its Message-ID is derived from
// the event and endpoint, so a repeated delivery carries the same one.
func (m *Mailer) Send(ctx context.Context, d gofaxlib.Delivery, files []Attachment) error {
	subject, body, err := Receipt(d.Event)
	if err != nil {
		return Permanent(err)
	}
	to := strings.FieldsFunc(d.Target.Address, func(r rune) bool { return r == ',' || r == ';' })
	return m.SendMail(ctx, Mail{
		To: to, Subject: subject, Body: body, Date: d.Event.Time,
		MessageID: m.messageID(d), Attachments: files,
	})
}

func (m *Mailer) messageID(d gofaxlib.Delivery) string {
	h := sha256.Sum256([]byte(d.Event.ID + "\x00" + d.Target.EndpointID))
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	return "receipt." + hex.EncodeToString(h[:16]) + "@" + domain
}

// SendMail sends msg. Errors worth no retry (an address the server
// refuses for good, a message it rejects with 5xx) wrap ErrPermanent.
func (m *Mailer) SendMail(ctx context.Context, msg Mail) error {
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	gm.FromMailAddress(m.from)
	if len(msg.To) == 0 {
		return Permanent(errors.New("notify: mail without recipient"))
	}
	var to []*mail.Address
	for _, a := range msg.To {
		addr, err := mail.ParseAddress(strings.TrimSpace(a))
		if err != nil {
			return Permanent(fmt.Errorf("notify: recipient %q: %w", a, err))
		}
		to = append(to, addr)
	}
	gm.ToMailAddress(to...)
	setSubject(gm, msg.Subject)
	date := msg.Date
	if date.IsZero() {
		date = time.Now()
	}
	gm.SetDateWithValue(date)
	if msg.MessageID != "" {
		gm.SetMessageIDWithValue(msg.MessageID)
	} else {
		gm.SetMessageID()
	}
	gm.SetUserAgent("gofaxserver")
	gm.SetBodyString(gomail.TypeTextPlain, msg.Body)
	for _, a := range msg.Attachments {
		if err := a.check(); err != nil {
			return err
		}
		name := safeFileName(a.Name)
		if err := gm.AttachReader(name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.contentType())), fileName(name, a.contentType())); err != nil {
			return Permanent(fmt.Errorf("notify: attachment %q: %w", a.Name, err))
		}
	}

	c, err := m.client()
	if err != nil {
		return err
	}
	err = c.DialAndSendWithContext(ctx, gm)
	if err != nil && gm.IsDelivered() {
		return nil // taken; only the closing RSET or QUIT failed
	}
	if err != nil {
		return classifyMail(fmt.Errorf("notify: smtp %s: %w", m.addr(), err))
	}
	return nil
}

func (m *Mailer) addr() string { return fmt.Sprintf("%s:%d", m.cfg.Host, m.cfg.port()) }

func (m *Mailer) client() (*gomail.Client, error) {
	cfg := m.cfg
	tc := cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.port()),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tc),
		gomail.WithHELO(m.helo),
	}
	switch cfg.Mode() {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&tlsOnlyAuth{user: cfg.Username, pass: cfg.Password, host: cfg.Host}))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, Permanent(fmt.Errorf("notify: smtp: %w", err))
	}
	return c, nil
}

// setSubject sets the Subject header: control characters become spaces;
// a subject that is not plain ASCII is written as RFC 2047 encoded words,
// one per line, so no line passes 78 characters and no line starts empty.
func setSubject(gm *gomail.Msg, subject string) {
	subject = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, subject)
	if plainASCII(subject) {
		gm.Subject(subject)
		return
	}
	gm.SetGenHeaderPreformatted(gomail.HeaderSubject, strings.Join(encodedWords(subject), "\r\n "))
}

// encodedWords encodes s as RFC 2047 "B" words of at most 39 bytes of
// text (64 characters each), cut between runes; on lines of their own
// after a short prefix ("Subject: ", ` filename="`) they stay under 78
// characters.
func encodedWords(s string) []string {
	const chunk = 39
	var words []string
	for s != "" {
		n := 0
		for i, r := range s {
			if i+utf8.RuneLen(r) > chunk {
				break
			}
			n = i + utf8.RuneLen(r)
		}
		if n == 0 {
			n = len(s)
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return words
}

// fileName gives an attachment whose name is not plain ASCII both an RFC
// 2231 filename* (in continuations of at most 60 characters) and, for
// older clients, an RFC 2047 encoded filename (also as the Content-Type's
// name); the headers are folded so their lines stay short.
func fileName(name, ctype string) gomail.FileOption {
	return func(f *gomail.File) {
		if plainASCII(name) {
			return // go-mail's quoted filename
		}
		if f.Header == nil {
			f.Header = textproto.MIMEHeader{}
		}
		quoted := `"` + strings.Join(encodedWords(name), "\r\n ") + `"`
		f.Header.Set("Content-Type", ctype+";\r\n name="+quoted)
		params := []string{"attachment", "filename=" + quoted}
		segs := splitExtValue(extValue(name), 60)
		if len(segs) == 1 {
			params = append(params, "filename*="+segs[0])
		} else {
			for i, seg := range segs {
				params = append(params, fmt.Sprintf("filename*%d*=%s", i, seg))
			}
		}
		f.Header.Set("Content-Disposition", strings.Join(params, ";\r\n "))
	}
}

// splitExtValue cuts an RFC 5987 ext-value into pieces of at most n
// characters without splitting a %XX escape.
func splitExtValue(v string, n int) []string {
	var out []string
	for len(v) > n {
		cut := n
		if i := strings.LastIndexByte(v[:cut], '%'); i >= cut-2 {
			cut = i
		}
		out = append(out, v[:cut])
		v = v[cut:]
	}
	return append(out, v)
}

// tlsOnlyAuth authenticates with PLAIN, else LOGIN, and only on a TLS
// connection (go-mail's own PLAIN would also send to a plain-text
// "localhost").
type tlsOnlyAuth struct {
	user, pass, host string
	inner            smtp.Auth
}

func (a *tlsOnlyAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, ErrAuthWithoutTLS
	}
	switch {
	case slices.Contains(s.Auth, "PLAIN"):
		a.inner = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(s.Auth, "LOGIN"):
		a.inner = smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, fmt.Errorf("notify: smtp server offers neither AUTH PLAIN nor LOGIN (%s)", strings.Join(s.Auth, " "))
	}
	return a.inner.Start(s)
}

func (a *tlsOnlyAuth) Next(from []byte, more bool) ([]byte, error) {
	if a.inner == nil {
		return nil, errors.New("notify: smtp auth not started")
	}
	return a.inner.Next(from, more)
}

// classifyMail marks refusals that no retry can fix: a 5xx answer to RCPT
// TO or to the message itself. Connection failures, 4xx answers, TLS and
// AUTH problems (the server's or the operator's to fix) are retried.
func classifyMail(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		switch se.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			return Permanent(err)
		}
	}
	return err
}
