// Package config loads /etc/gofax.conf, the INI file shared by gofaxd and
// gofaxsend. Every key of GOfax.IP's gofax.conf keeps its meaning, so an
// existing file works unchanged; new keys have safe defaults. Unknown
// sections and keys are reported as warnings instead of stopping the
// program, and every error names the file, line and setting at fault.
//
// The file is parsed with gopkg.in/gcfg.v1 (git-config syntax): `;` and `#`
// start comments, names are case-insensitive, values may be double-quoted,
// a bool key alone means true, and a multi-valued key (gateway,
// failedresponse, recipientfrom) is repeated once per value.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/gcfg.v1"
	"gopkg.in/warnings.v0"
)

// DefaultPath is where both programs look for the file without -c.
const DefaultPath = "/etc/gofax.conf"

// maxFileSize bounds the read: a gofax.conf is a few KiB, anything near
// this size is not a configuration file.
const maxFileSize = 1 << 20

// Config is the typed content of gofax.conf. Relative paths are relative to
// HylaFAX.SpoolDir (see SpoolPath).
type Config struct {
	FreeSWITCH FreeSWITCH
	HylaFAX    HylaFAX
	Gofaxd     Gofaxd
	Gofaxsend  Gofaxsend
	Database   Database
	Receipts   Receipts
	SMTP       SMTP
	Webhooks   Webhooks
	Loki       Loki
	Web        Web

	file  string         // path given to Load, "" for Default
	lines map[string]int // "section.key" and "section" → first line
}

// FreeSWITCH is the [freeswitch] section: how to reach FreeSWITCH's inbound
// event socket and the fax settings common to both directions.
type FreeSWITCH struct {
	Socket            string        // socket: inbound ESL address (127.0.0.1:8021)
	Password          string        // password: ESL auth password (ClueCon)
	Gateways          []string      // gateway: sofia gateways in failover order
	Ident             string        // ident: default CSI/TSI (fax_ident)
	Header            string        // header: default page header (fax_header)
	Verbose           bool          // verbose: fax_verbose on outbound calls
	SoftmodemFallback bool          // softmodemfallback: learn numbers that fail with T.38
	FallbackTTL       time.Duration // fallbackttl: how long a fallback entry counts (0 = forever)
	FallbackMax       int           // fallbackmax: entries kept in each fallback realm (0 = no bound)
	FallbackShared    bool          // fallbackshared: entries learned on receptions count for sends too
	// Number normalisation for fallback keys (see freeswitch.Numbering.Key)
	// and, as NumberPlan, for the numbers of the tenant database.
	CountryCode         string        // countrycode: own country code, e.g. 49 ("" = off)
	InternationalPrefix string        // internationalprefix: 00
	NationalPrefix      string        // nationalprefix: 0
	NationalLength      int           // nationallength: digits of a national number without prefix (0 = off)
	Timeout             time.Duration // timeout: deadline for one ESL command reply
}

// HylaFAX is the [hylafax] section: the spool and the virtual modems.
type HylaFAX struct {
	SpoolDir     string      // spooldir: /var/spool/hylafax
	Modems       int         // modems: number of virtual modems
	XferFaxLog   string      // xferfaxlog: transfer log ("" = off)
	ModemPrefix  string      // modemprefix: modem names are <prefix>0..N-1
	RecvFileMode fs.FileMode // recvfilemode: mode of received TIFFs
	// ReceivingMode is the mode of a received TIFF while FreeSWITCH
	// writes it (receivingmode; 0 = RecvFileMode).
	ReceivingMode fs.FileMode
	LogFileMode   fs.FileMode   // logfilemode: mode of session logs
	FIFOTimeout   time.Duration // fifotimeout: how long to retry a FIFO nobody reads
}

// Gofaxd is the [gofaxd] section: receiving.
type Gofaxd struct {
	Socket                 string        // socket: listen address for FreeSWITCH's outbound socket
	EnableT38              bool          // enablet38: fax_enable_t38
	RequestT38             bool          // requestt38: fax_enable_t38_request
	RecipientFrom          []string      // recipientfrom (+ recipientfromdiversionheader)
	AnswerAfter            time.Duration // answerafter: ring this long before answering
	WaitTime               time.Duration // waittime: silence after answering
	DynamicConfig          string        // dynamicconfig: call-screening script
	FaxRcvdCmd             string        // faxrcvdcmd: run after each reception
	AllocateInboundDevices bool          // allocateinbounddevices: refuse calls when every modem is busy
	RejectResponse         int           // rejectresponse: SIP code when no modem is free
	ScreenResponse         int           // screenresponse: SIP code for RejectCall
	PageTimeout            time.Duration // pagetimeout: longest time without fax progress
	MaxCallTime            time.Duration // maxcalltime: longest reception
	DynamicConfigTimeout   time.Duration // dynamicconfigtimeout
	FaxRcvdTimeout         time.Duration // faxrcvdtimeout
	FaxRcvdConcurrency     int           // faxrcvdconcurrency: faxrcvd runs at once
	FaxRcvdDefer           time.Duration // faxrcvddefer: how long runs beyond the first may wait while calls need the CPU
	MaxConnections         int           // maxconnections: event socket connections served at once (0 = automatic)
	MaxSetups              int           // maxsetups: calls in their setup phase at once (0 = no bound)
	SyncFS                 bool          // syncfs: make a round of receptions durable with two syncfs of the spool
	ShutdownGrace          time.Duration // shutdowngrace: how long running calls may finish on stop
	Metrics                string        // metrics: Prometheus listen address ("" = off)
}

// Gofaxsend is the [gofaxsend] section: sending.
type Gofaxsend struct {
	EnableT38            bool          // enablet38
	RequestT38           bool          // requestt38
	FaxNumber            string        // faxnumber: caller-ID number
	CallPrefix           string        // callprefix: prepended to the dialled number
	DynamicConfig        string        // dynamicconfig: per-job override script
	DisableV17AfterRetry int           // disablev17afterretry (0 = never)
	DisableECMAfterRetry int           // disableecmafterretry (0 = never)
	CIDName              string        // cidname: sender, number, cidnum or a literal
	FailedResponse       []string      // failedresponse: causes that fail a job
	DisableV17           bool          // disablev17: never use V.17
	DisableECM           bool          // disableecm: never use ECM
	RingTimeout          time.Duration // ringtimeout: originate_timeout
	PageTimeout          time.Duration // pagetimeout
	MaxCallTime          time.Duration // maxcalltime
	DynamicConfigTimeout time.Duration // dynamicconfigtimeout
	LogFile              string        // logfile: "" = syslog/journal
	// NotifyCmd is HylaFAX's notify program that gofaxsend's NotifyCmd
	// mode hands faxq's notice on to (spool-relative "bin/notify").
	NotifyCmd string // notifycmd
}

// Receipts is the [receipts] section: how the receipt dispatcher of
// gofaxd works through the outbox (receipts need [database]).
type Receipts struct {
	Retry     []time.Duration // retry: wait before each retry; len+1 tries, then dead
	Workers   int             // workers: deliveries at once, overall
	PerTarget int             // pertarget: deliveries at once to one endpoint
}

// DefaultRetry is the default [receipts] retry schedule: 8 tries over
// about 27.6 hours.
var DefaultRetry = []string{"5s", "5m", "30m", "2h", "5h", "10h", "10h"}

// SMTP is the [smtp] section: the mail server e-mail receipts go through
// ("" Host = no e-mail receipts).
type SMTP struct {
	Host     string        // host: mail server
	Port     int           // port: 587
	TLS      string        // tls: auto, starttls, tls, opportunistic or none
	Username string        // username: AUTH user, sent only over TLS
	Password string        // password
	From     string        // from: sender address
	HELO     string        // helo: name in EHLO ("" = host name)
	Timeout  time.Duration // timeout: connecting and each SMTP command
}

// TLS modes of [smtp] tls.
const (
	TLSAuto          = "auto"
	TLSStartTLS      = "starttls"
	TLSImplicit      = "tls"
	TLSOpportunistic = "opportunistic"
	TLSNone          = "none"
)

// SMTPTLSModes lists the values of [smtp] tls.
var SMTPTLSModes = []string{TLSAuto, TLSStartTLS, TLSImplicit, TLSOpportunistic, TLSNone}

// Webhooks is the [webhooks] section: where webhook receipts may connect
// and how long they may take.
type Webhooks struct {
	Allow []netip.Prefix // allow: networks permitted even when denied
	// Deny: networks refused; nil = the built-in list (loopback, private,
	// link-local, unique-local, unspecified, multicast, reserved).
	Deny           []netip.Prefix
	ConnectTimeout time.Duration // connecttimeout
	TLSTimeout     time.Duration // tlstimeout
	HeaderTimeout  time.Duration // headertimeout: until the response header
	Timeout        time.Duration // timeout: the whole request
}

// Loki is the [loki] section: shipping gofaxd's log to Grafana Loki (""
// URL = off).
type Loki struct {
	URL         string            // url: push URL
	Username    string            // username: HTTP basic authentication
	Password    string            // password
	BearerToken string            // token: Authorization: Bearer
	TenantID    string            // tenant: X-Scope-OrgID
	Job         string            // job: label job
	Host        string            // host: label host ("" = host name)
	Labels      map[string]string // label: extra labels, name=value
	Level       string            // level: debug, info, warn or error
	BatchSize   int               // batchsize: lines per push
	BatchWait   time.Duration     // batchwait: longest a line waits for its batch
	Buffer      int               // buffer: lines held in memory; more are dropped
	Timeout     time.Duration     // timeout: one push request
}

var lokiLevels = []string{"debug", "info", "warn", "error"}

// Recipient sources for [gofaxd] recipientfrom, in the order given.
const (
	RecipientDiversion      = "diversion"         // SIP Diversion header
	RecipientHistoryInfo    = "history-info"      // SIP History-Info header
	RecipientPCalledPartyID = "p-called-party-id" // SIP P-Called-Party-ID header
	RecipientTo             = "to"                // user part of the SIP To header
	RecipientRequestURI     = "request-uri"       // user part of the Request-URI
)

var recipientSources = []string{RecipientDiversion, RecipientHistoryInfo, RecipientPCalledPartyID, RecipientTo, RecipientRequestURI}

// ErrInvalid is wrapped by every error about a value that cannot be used.
var ErrInvalid = errors.New("invalid setting")

// Error is a problem in a configuration file, with its location.
type Error struct {
	File    string // path of the file, "" when not loaded from a file
	Line    int    // 1-based line, 0 when unknown
	Section string // e.g. "gofaxd"
	Key     string // e.g. "pagetimeout", "" for the whole section or file
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "]")
		if e.Key != "" {
			b.WriteString(" " + e.Key)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Default returns the configuration used for every key a file leaves out.
func Default() *Config {
	c, _, err := build(defaults(), nil, "")
	if err != nil {
		panic("config: defaults do not convert: " + err.Error())
	}
	return c
}

// Load reads and checks the file at path. Warnings (unknown sections and
// keys, questionable values) do not stop loading; each names file, line,
// section and key. A file every user may read is a warning too (see
// ModeWarning). The error, if any, is an *Error or wraps an I/O error.
func Load(path string) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(src) > maxFileSize {
		return nil, nil, &Error{File: path, Err: fmt.Errorf("%w: file larger than %d bytes", ErrInvalid, maxFileSize)}
	}
	c, warns, err := Parse(path, src)
	if err != nil {
		return c, warns, err
	}
	if fi, err := f.Stat(); err == nil {
		if w := ModeWarning(path, fi.Mode()); w != "" {
			warns = append([]string{w}, warns...)
		}
	}
	return c, warns, nil
}

// ModeWarning returns the warning for a configuration file with mode
// that every user may read, or "". The file holds the event socket
// password, and with mod_commands loaded the event socket runs any
// command ("api system ..."); the Debian package installs it 0640
// root:uucp (gofaxd and gofaxsend run as uucp).
func ModeWarning(path string, mode fs.FileMode) string {
	if mode.Perm()&0o004 == 0 {
		return ""
	}
	return fmt.Sprintf("config: %s: readable by every user (mode %#o), but it holds the event socket password: "+
		"chown root:uucp and chmod 0640 it", path, mode.Perm())
}

// Parse is Load for a file's content; name is used in messages only.
func Parse(name string, src []byte) (*Config, []string, error) {
	lines := locate(src)
	raw := defaults()
	var warns []string
	err := readGcfg(&raw, src)
	for _, w := range warnings.WarningsOnly(err) {
		warns = appendUnique(warns, unknownWarning(name, lines, w))
	}
	if err := gcfg.FatalOnly(err); err != nil {
		return nil, nil, gcfgError(name, lines, err)
	}
	c, w, err := build(raw, lines, name)
	return c, append(warns, w...), err
}

// readGcfg runs gcfg, turning a panic inside it (its unquote panics on
// input its scanner should have refused) into an error.
func readGcfg(r *raw, src []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unreadable value: %v", p)
		}
	}()
	return gcfg.ReadStringInto(r, strings.TrimPrefix(string(src), "\ufeff"))
}

// sections are the sections of gofax.conf, lower case.
var sections = []string{"freeswitch", "hylafax", "gofaxd", "gofaxsend", "database", "web", "receipts", "smtp", "webhooks", "loki"}

// locRe matches gcfg's location suffix, e.g.
// `at section "gofaxd", variable "acceptt38"`.
var locRe = regexp.MustCompile(`section "([^"]*)"(?:, subsection "([^"]*)")?(?:, variable "([^"]*)")?`)

func unknownWarning(name string, lines map[string]int, w error) string {
	m := locRe.FindStringSubmatch(w.Error())
	if m == nil {
		return fmt.Sprintf("config: %s: %v", name, w)
	}
	sect, key := strings.ToLower(m[1]), strings.ToLower(m[3])
	e := &Error{File: name, Section: sect, Key: key}
	switch {
	case m[2] != "":
		e.Section = sect + ` "` + m[2] + `"`
		e.Line = lines[sect]
		e.Err = errors.New("subsections are not used, ignored")
	case key == "" && slices.Contains(sections, sect):
		e.Line = lines[sect]
		e.Err = errors.New("subsections are not used, ignored")
	case key == "":
		e.Line = lines[sect]
		e.Err = errors.New("unknown section, ignored")
	default:
		e.Line = lines[sect+"."+key]
		e.Err = errors.New("unknown key, ignored")
	}
	return e.Error()
}

// gcfgError locates a fatal gcfg error: syntax errors carry "line:col",
// conversion errors name section and variable.
func gcfgError(name string, lines map[string]int, err error) error {
	msg := err.Error()
	if m := locRe.FindStringSubmatchIndex(msg); m != nil {
		sect, key := strings.ToLower(msg[m[2]:m[3]]), ""
		if m[6] >= 0 {
			key = strings.ToLower(msg[m[6]:m[7]])
		}
		text := strings.TrimSuffix(strings.TrimSpace(msg[:m[0]]), " at")
		return &Error{File: name, Line: lines[sect+"."+key], Section: sect, Key: key, Err: fmt.Errorf("%w: %s", ErrInvalid, text)}
	}
	var line int
	if _, e := fmt.Sscanf(msg, "%d:", &line); e != nil {
		line = 0
	}
	if line > 0 {
		msg = strings.TrimSpace(msg[strings.Index(msg, ": ")+1:])
	}
	return &Error{File: name, Line: line, Err: fmt.Errorf("%w: %s", ErrInvalid, msg)}
}

// locate maps "section" and "section.key" (lower case) to the line where
// they first appear, the way gcfg reads names. It only serves messages and
// the question whether a key was given at all.
func locate(src []byte) map[string]int {
	lines := make(map[string]int)
	sect := ""
	cont := false
	for i, l := range strings.Split(string(src), "\n") {
		l = strings.TrimRight(l, "\r")
		wasCont := cont
		cont = strings.HasSuffix(l, `\`)
		if wasCont {
			continue
		}
		l = strings.TrimSpace(l)
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		n := i + 1
		if l[0] == '[' {
			sect = strings.ToLower(strings.TrimSpace(l[1:strings.IndexAny(l+"]", ` "]`)]))
			if _, ok := lines[sect]; !ok {
				lines[sect] = n
			}
			continue
		}
		end := strings.IndexFunc(l, func(r rune) bool { return !(r == '-' || r == '_' || isAlnum(r)) })
		if end < 0 {
			end = len(l)
		}
		k := sect + "." + strings.ToLower(l[:end])
		if _, ok := lines[k]; !ok {
			lines[k] = n
		}
	}
	return lines
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// SpoolPath resolves p against the spool directory unless it is absolute.
func (c *Config) SpoolPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.HylaFAX.SpoolDir, p)
}

// File returns the path the configuration was loaded from ("" for Default).
func (c *Config) File() string { return c.file }
