package config

import (
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// raw mirrors the file for gcfg. Numbers, durations and modes are strings
// so that build can report bad values with their line and accept the forms
// GOfax.IP accepted. Multi-valued keys start empty: a list given in the
// file replaces the default instead of adding to it.
type raw struct {
	Freeswitch struct {
		Socket              string
		Password            string
		Gateway             []string
		Ident               string
		Header              string
		Verbose             bool
		Softmodemfallback   bool
		Fallbackttl         string
		Fallbackmax         string
		Fallbackshared      bool
		Countrycode         string
		Internationalprefix string
		Nationalprefix      string
		Nationallength      string
		Timeout             string
	}
	Hylafax struct {
		Spooldir      string
		Modems        string
		Xferfaxlog    string
		Modemprefix   string
		Recvfilemode  string
		Receivingmode string
		Logfilemode   string
		Fifotimeout   string
	}
	Gofaxd struct {
		Socket                       string
		Enablet38                    bool
		Requestt38                   bool
		Recipientfromdiversionheader bool
		Recipientfrom                []string
		Answerafter                  string
		Waittime                     string
		Dynamicconfig                string
		Faxrcvdcmd                   string
		Allocateinbounddevices       bool
		Rejectresponse               string
		Screenresponse               string
		Pagetimeout                  string
		Maxcalltime                  string
		Dynamicconfigtimeout         string
		Faxrcvdtimeout               string
		Faxrcvdconcurrency           string
		Faxrcvddefer                 string
		Maxconnections               string
		Maxsetups                    string
		Syncfs                       bool
		Shutdowngrace                string
		Metrics                      string
	}
	Gofaxsend struct {
		Enablet38            bool
		Requestt38           bool
		Faxnumber            string
		Callprefix           string
		Dynamicconfig        string
		Disablev17afterretry string
		Disableecmafterretry string
		Cidname              string
		Failedresponse       []string
		Disablev17           bool
		Disableecm           bool
		Ringtimeout          string
		Pagetimeout          string
		Maxcalltime          string
		Dynamicconfigtimeout string
		Logfile              string
		Notifycmd            string
	}
	Database struct {
		Dsn              string
		Host             string
		Port             string
		User             string
		Password         string
		Dbname           string
		Sslmode          string
		Maxconns         string
		Statementtimeout string
		Connecttimeout   string
		Migrate          bool
		Unknownnumber    string
		Hostname         string
		Archive          string
		Refresh          string
	}
	Receipts struct {
		Retry     []string
		Workers   string
		Pertarget string
	}
	Smtp struct {
		Host     string
		Port     string
		Tls      string
		Username string
		Password string
		From     string
		Helo     string
		Timeout  string
	}
	Webhooks struct {
		Allow          []string
		Deny           []string
		Connecttimeout string
		Tlstimeout     string
		Headertimeout  string
		Timeout        string
	}
	Loki struct {
		Url       string
		Username  string
		Password  string
		Token     string
		Tenant    string
		Job       string
		Host      string
		Label     []string
		Level     string
		Batchsize string
		Batchwait string
		Buffer    string
		Timeout   string
	}
	Web struct {
		Listen             string
		Tlscert            string
		Tlskey             string
		Admintoken         []string
		Maxbody            string
		Maxupload          string
		Maxpages           string
		Ratelimit          string
		Rateburst          string
		Uploaddir          string
		Pdfinfo            string
		Hfaxdhost          string
		Hfaxdport          string
		Hfaxduser          string
		Hfaxdpassword      string
		Hfaxdadminpassword string
	}
}

// defaults is the single place where default values live (documented in
// config/gofax.conf).
func defaults() raw {
	var r raw
	r.Freeswitch.Socket = "127.0.0.1:8021"
	r.Freeswitch.Password = "ClueCon"
	// A station whose T.38 was repaired gets T.38 again after a month, at
	// the cost of one failed attempt.
	r.Freeswitch.Fallbackttl = "720h"
	// Far more stations than a fax server has T.38 trouble with, few
	// enough that pruning a realm (reading each entry once) stays quick.
	r.Freeswitch.Fallbackmax = "1000"
	r.Freeswitch.Internationalprefix = "00"
	r.Freeswitch.Nationalprefix = "0"
	r.Freeswitch.Nationallength = "0"
	r.Freeswitch.Timeout = "10s"
	r.Hylafax.Spooldir = "/var/spool/hylafax"
	r.Hylafax.Modems = "1"
	r.Hylafax.Xferfaxlog = "log/xferfaxlog"
	r.Hylafax.Modemprefix = "freeswitch"
	r.Hylafax.Recvfilemode = "0600"
	r.Hylafax.Logfilemode = "0600"
	r.Hylafax.Fifotimeout = "10s"
	r.Gofaxd.Socket = "127.0.0.1:8022"
	r.Gofaxd.Answerafter = "0"
	r.Gofaxd.Waittime = "0"
	r.Gofaxd.Faxrcvdcmd = "bin/faxrcvd"
	r.Gofaxd.Rejectresponse = "486"
	r.Gofaxd.Screenresponse = "404"
	r.Gofaxd.Pagetimeout = "5m"
	r.Gofaxd.Maxcalltime = "2h"
	r.Gofaxd.Dynamicconfigtimeout = "10s"
	r.Gofaxd.Faxrcvdtimeout = "10m"
	r.Gofaxd.Faxrcvdconcurrency = "4"
	r.Gofaxd.Faxrcvddefer = "2s"
	r.Gofaxd.Syncfs = true
	r.Gofaxd.Shutdowngrace = "60s"
	r.Gofaxsend.Ringtimeout = "60s"
	r.Gofaxsend.Pagetimeout = "5m"
	r.Gofaxsend.Maxcalltime = "2h"
	r.Gofaxsend.Dynamicconfigtimeout = "30s"
	r.Gofaxsend.Notifycmd = "bin/notify"
	r.Database.Host = "localhost"
	r.Database.Port = "5432"
	r.Database.User = "gofax"
	r.Database.Dbname = "gofax"
	r.Database.Sslmode = "prefer"
	r.Database.Maxconns = "10"
	r.Database.Statementtimeout = "10s"
	r.Database.Connecttimeout = "10s"
	r.Database.Migrate = true
	r.Database.Unknownnumber = UnknownReject
	r.Database.Archive = "archive"
	r.Database.Refresh = "5m"
	r.Receipts.Workers = "16"
	r.Receipts.Pertarget = "2"
	r.Smtp.Port = "587"
	r.Smtp.Tls = TLSAuto
	r.Smtp.Timeout = "60s"
	r.Webhooks.Connecttimeout = "10s"
	r.Webhooks.Tlstimeout = "10s"
	r.Webhooks.Headertimeout = "30s"
	r.Webhooks.Timeout = "60s"
	r.Loki.Job = "gofaxd"
	r.Loki.Level = "info"
	r.Loki.Batchsize = "500"
	r.Loki.Batchwait = "1s"
	r.Loki.Buffer = "10000"
	r.Loki.Timeout = "10s"
	r.Web.Listen = "127.0.0.1:8417"
	r.Web.Maxbody = "1M"
	r.Web.Maxupload = "50M"
	r.Web.Maxpages = "500"
	r.Web.Ratelimit = "20"
	r.Web.Rateburst = "40"
	r.Web.Uploaddir = "tmp/gofax-api"
	r.Web.Pdfinfo = "pdfinfo"
	r.Web.Hfaxdhost = "127.0.0.1"
	r.Web.Hfaxdport = "4559"
	r.Web.Hfaxduser = "gofax"
	return r
}

// converter turns raw strings into typed values, remembering the first
// error with its location and collecting warnings.
type converter struct {
	file  string
	lines map[string]int
	err   error
	warns []string
}

// at locates key in sect: its line, or for a key the file leaves out the
// line of the section.
func (cv *converter) at(sect, key string) *Error {
	line, ok := cv.lines[sect+"."+key]
	if !ok {
		line = cv.lines[sect]
	}
	return &Error{File: cv.file, Line: line, Section: sect, Key: key}
}

func (cv *converter) fail(sect, key, format string, args ...any) {
	if cv.err == nil {
		e := cv.at(sect, key)
		e.Err = fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
		cv.err = e
	}
}

func (cv *converter) warn(sect, key, format string, args ...any) {
	e := cv.at(sect, key)
	e.Err = fmt.Errorf(format, args...)
	cv.warns = append(cv.warns, e.Error())
}

// given reports whether the file sets key in section sect, or with key ""
// whether it has the section at all.
func (cv *converter) given(sect, key string) bool {
	if key == "" {
		_, ok := cv.lines[sect]
		return ok
	}
	_, ok := cv.lines[sect+"."+key]
	return ok
}

// duration accepts Go durations ("90s", "5m") and plain integers in unit.
func (cv *converter) duration(sect, key, v string, unit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * unit
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		cv.fail(sect, key, "%q is not a duration (e.g. 30s, 5m, or a number of %s)", v, unitName(unit))
		return 0
	}
	return d
}

func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}

func (cv *converter) number(sect, key, v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		cv.fail(sect, key, "%q is not a non-negative whole number", v)
		return 0
	}
	return n
}

// optionalNumber is number with an empty value meaning 0 (automatic).
func (cv *converter) optionalNumber(sect, key, v string) int {
	if strings.TrimSpace(v) == "" {
		return 0
	}
	return cv.number(sect, key, v)
}

// tolerantNumber converts like GOfax.IP did for its retry counters (empty
// or non-numeric = 0), but says so instead of staying silent.
func (cv *converter) tolerantNumber(sect, key, v string) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		cv.warn(sect, key, "%q is not a non-negative whole number, using 0 (off) as GOfax.IP did", v)
		return 0
	}
	return n
}

// prefixes parses networks in CIDR notation (a bare address is a
// network of one); IPv4-mapped IPv6 networks become IPv4.
func (cv *converter) prefixes(sect, key string, vals []string) []netip.Prefix {
	out := []netip.Prefix{}
	for _, v := range vals {
		var p netip.Prefix
		var err error
		if strings.Contains(v, "/") {
			p, err = netip.ParsePrefix(v)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(v); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || p.Addr().Zone() != "" {
			cv.fail(sect, key, "%q is not a network in CIDR notation (e.g. 10.0.0.0/8, fd00::/8)", v)
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

func (cv *converter) mode(sect, key, v string) fs.FileMode {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
	if err != nil || n > 0o777 {
		cv.fail(sect, key, "%q is not an octal file mode such as 0600", v)
		return 0
	}
	return fs.FileMode(n)
}

// optionalMode is mode, with "" or 0 for "not set".
func (cv *converter) optionalMode(sect, key, v string) fs.FileMode {
	if strings.TrimSpace(v) == "" {
		return 0
	}
	return cv.mode(sect, key, v)
}

func (cv *converter) sipCode(sect, key, v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 400 || n > 699 {
		cv.fail(sect, key, "%q is not a SIP failure response code (400-699)", v)
		return 0
	}
	return n
}

// list returns the trimmed non-empty values of a multi-valued key, or def
// when the file does not mention the key at all.
func (cv *converter) list(sect, key string, vals, def []string) []string {
	if !cv.given(sect, key) {
		return slices.Clone(def)
	}
	out := []string{}
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func build(r raw, lines map[string]int, file string) (*Config, []string, error) {
	cv := &converter{file: file, lines: lines}
	c := &Config{file: file, lines: lines}

	fsw := r.Freeswitch
	c.FreeSWITCH = FreeSWITCH{
		Socket:              strings.TrimSpace(fsw.Socket),
		Password:            fsw.Password,
		Gateways:            cv.list("freeswitch", "gateway", fsw.Gateway, nil),
		Ident:               fsw.Ident,
		Header:              fsw.Header,
		Verbose:             fsw.Verbose,
		SoftmodemFallback:   fsw.Softmodemfallback,
		FallbackTTL:         cv.duration("freeswitch", "fallbackttl", fsw.Fallbackttl, time.Second),
		FallbackMax:         cv.number("freeswitch", "fallbackmax", fsw.Fallbackmax),
		FallbackShared:      fsw.Fallbackshared,
		CountryCode:         strings.TrimSpace(fsw.Countrycode),
		InternationalPrefix: strings.TrimSpace(fsw.Internationalprefix),
		NationalPrefix:      strings.TrimSpace(fsw.Nationalprefix),
		NationalLength:      cv.number("freeswitch", "nationallength", fsw.Nationallength),
		Timeout:             cv.duration("freeswitch", "timeout", fsw.Timeout, time.Second),
	}

	hf := r.Hylafax
	c.HylaFAX = HylaFAX{
		SpoolDir:      strings.TrimSpace(hf.Spooldir),
		Modems:        cv.number("hylafax", "modems", hf.Modems),
		XferFaxLog:    strings.TrimSpace(hf.Xferfaxlog),
		ModemPrefix:   strings.TrimSpace(hf.Modemprefix),
		RecvFileMode:  cv.mode("hylafax", "recvfilemode", hf.Recvfilemode),
		ReceivingMode: cv.optionalMode("hylafax", "receivingmode", hf.Receivingmode),
		LogFileMode:   cv.mode("hylafax", "logfilemode", hf.Logfilemode),
		FIFOTimeout:   cv.duration("hylafax", "fifotimeout", hf.Fifotimeout, time.Second),
	}

	d := r.Gofaxd
	def := []string{RecipientTo}
	if d.Recipientfromdiversionheader {
		// GOfax.IP: Diversion only, the call is refused without one.
		def = []string{RecipientDiversion}
		if cv.given("gofaxd", "recipientfrom") {
			cv.warn("gofaxd", "recipientfromdiversionheader", "ignored because recipientfrom is set")
		}
	}
	c.Gofaxd = Gofaxd{
		Socket:                 strings.TrimSpace(d.Socket),
		EnableT38:              d.Enablet38,
		RequestT38:             d.Requestt38,
		RecipientFrom:          cv.list("gofaxd", "recipientfrom", d.Recipientfrom, def),
		AnswerAfter:            cv.duration("gofaxd", "answerafter", d.Answerafter, time.Millisecond),
		WaitTime:               cv.duration("gofaxd", "waittime", d.Waittime, time.Millisecond),
		DynamicConfig:          strings.TrimSpace(d.Dynamicconfig),
		FaxRcvdCmd:             strings.TrimSpace(d.Faxrcvdcmd),
		AllocateInboundDevices: d.Allocateinbounddevices,
		RejectResponse:         cv.sipCode("gofaxd", "rejectresponse", d.Rejectresponse),
		ScreenResponse:         cv.sipCode("gofaxd", "screenresponse", d.Screenresponse),
		PageTimeout:            cv.duration("gofaxd", "pagetimeout", d.Pagetimeout, time.Second),
		MaxCallTime:            cv.duration("gofaxd", "maxcalltime", d.Maxcalltime, time.Second),
		DynamicConfigTimeout:   cv.duration("gofaxd", "dynamicconfigtimeout", d.Dynamicconfigtimeout, time.Second),
		FaxRcvdTimeout:         cv.duration("gofaxd", "faxrcvdtimeout", d.Faxrcvdtimeout, time.Second),
		FaxRcvdConcurrency:     cv.number("gofaxd", "faxrcvdconcurrency", d.Faxrcvdconcurrency),
		FaxRcvdDefer:           cv.duration("gofaxd", "faxrcvddefer", d.Faxrcvddefer, time.Second),
		MaxConnections:         cv.optionalNumber("gofaxd", "maxconnections", d.Maxconnections),
		MaxSetups:              cv.optionalNumber("gofaxd", "maxsetups", d.Maxsetups),
		SyncFS:                 d.Syncfs,
		ShutdownGrace:          cv.duration("gofaxd", "shutdowngrace", d.Shutdowngrace, time.Second),
		Metrics:                strings.TrimSpace(d.Metrics),
	}
	for i, s := range c.Gofaxd.RecipientFrom {
		c.Gofaxd.RecipientFrom[i] = strings.ToLower(s)
	}
	if c.Gofaxd.FaxRcvdCmd == "" {
		c.Gofaxd.FaxRcvdCmd = "bin/faxrcvd" // GOfax.IP: empty means the HylaFAX default
	}

	s := r.Gofaxsend
	c.Gofaxsend = Gofaxsend{
		EnableT38:            s.Enablet38,
		RequestT38:           s.Requestt38,
		FaxNumber:            strings.TrimSpace(s.Faxnumber),
		CallPrefix:           strings.TrimSpace(s.Callprefix),
		DynamicConfig:        strings.TrimSpace(s.Dynamicconfig),
		DisableV17AfterRetry: cv.tolerantNumber("gofaxsend", "disablev17afterretry", s.Disablev17afterretry),
		DisableECMAfterRetry: cv.tolerantNumber("gofaxsend", "disableecmafterretry", s.Disableecmafterretry),
		CIDName:              s.Cidname,
		FailedResponse:       cv.list("gofaxsend", "failedresponse", s.Failedresponse, gofaxlib.DefaultFailedCauses),
		DisableV17:           s.Disablev17,
		DisableECM:           s.Disableecm,
		RingTimeout:          cv.duration("gofaxsend", "ringtimeout", s.Ringtimeout, time.Second),
		PageTimeout:          cv.duration("gofaxsend", "pagetimeout", s.Pagetimeout, time.Second),
		MaxCallTime:          cv.duration("gofaxsend", "maxcalltime", s.Maxcalltime, time.Second),
		DynamicConfigTimeout: cv.duration("gofaxsend", "dynamicconfigtimeout", s.Dynamicconfigtimeout, time.Second),
		LogFile:              strings.TrimSpace(s.Logfile),
		NotifyCmd:            strings.TrimSpace(s.Notifycmd),
	}
	if c.Gofaxsend.NotifyCmd == "" {
		c.Gofaxsend.NotifyCmd = "bin/notify" // empty: HylaFAX's own, as for faxrcvdcmd
	}
	for i, f := range c.Gofaxsend.FailedResponse {
		c.Gofaxsend.FailedResponse[i] = strings.ToUpper(f)
	}

	db := r.Database
	c.Database = Database{
		Enabled:          cv.given("database", ""),
		DSN:              strings.TrimSpace(db.Dsn),
		Host:             strings.TrimSpace(db.Host),
		Port:             cv.number("database", "port", db.Port),
		User:             strings.TrimSpace(db.User),
		Password:         db.Password,
		DBName:           strings.TrimSpace(db.Dbname),
		SSLMode:          strings.ToLower(strings.TrimSpace(db.Sslmode)),
		MaxConns:         cv.number("database", "maxconns", db.Maxconns),
		StatementTimeout: cv.duration("database", "statementtimeout", db.Statementtimeout, time.Second),
		ConnectTimeout:   cv.duration("database", "connecttimeout", db.Connecttimeout, time.Second),
		Migrate:          db.Migrate,
		UnknownNumber:    strings.ToLower(strings.TrimSpace(db.Unknownnumber)),
		Hostname:         strings.TrimSpace(db.Hostname),
		Archive:          strings.TrimSpace(db.Archive),
		Refresh:          cv.duration("database", "refresh", db.Refresh, time.Second),
	}

	rc := r.Receipts
	c.Receipts = Receipts{
		Workers:   cv.number("receipts", "workers", rc.Workers),
		PerTarget: cv.number("receipts", "pertarget", rc.Pertarget),
	}
	for _, v := range cv.list("receipts", "retry", rc.Retry, DefaultRetry) {
		c.Receipts.Retry = append(c.Receipts.Retry, cv.duration("receipts", "retry", v, time.Second))
	}

	sm := r.Smtp
	c.SMTP = SMTP{
		Host:     strings.TrimSpace(sm.Host),
		Port:     cv.number("smtp", "port", sm.Port),
		TLS:      strings.ToLower(strings.TrimSpace(sm.Tls)),
		Username: sm.Username,
		Password: sm.Password,
		From:     strings.TrimSpace(sm.From),
		HELO:     strings.TrimSpace(sm.Helo),
		Timeout:  cv.duration("smtp", "timeout", sm.Timeout, time.Second),
	}

	wh := r.Webhooks
	c.Webhooks = Webhooks{
		Allow:          cv.prefixes("webhooks", "allow", cv.list("webhooks", "allow", wh.Allow, nil)),
		ConnectTimeout: cv.duration("webhooks", "connecttimeout", wh.Connecttimeout, time.Second),
		TLSTimeout:     cv.duration("webhooks", "tlstimeout", wh.Tlstimeout, time.Second),
		HeaderTimeout:  cv.duration("webhooks", "headertimeout", wh.Headertimeout, time.Second),
		Timeout:        cv.duration("webhooks", "timeout", wh.Timeout, time.Second),
	}
	if cv.given("webhooks", "deny") {
		c.Webhooks.Deny = cv.prefixes("webhooks", "deny", cv.list("webhooks", "deny", wh.Deny, nil))
	}

	lk := r.Loki
	c.Loki = Loki{
		URL:         strings.TrimSpace(lk.Url),
		Username:    lk.Username,
		Password:    lk.Password,
		BearerToken: lk.Token,
		TenantID:    strings.TrimSpace(lk.Tenant),
		Job:         strings.TrimSpace(lk.Job),
		Host:        strings.TrimSpace(lk.Host),
		Level:       strings.ToLower(strings.TrimSpace(lk.Level)),
		BatchSize:   cv.number("loki", "batchsize", lk.Batchsize),
		BatchWait:   cv.duration("loki", "batchwait", lk.Batchwait, time.Second),
		Buffer:      cv.number("loki", "buffer", lk.Buffer),
		Timeout:     cv.duration("loki", "timeout", lk.Timeout, time.Second),
	}
	for _, l := range cv.list("loki", "label", lk.Label, nil) {
		k, v, ok := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			cv.fail("loki", "label", "%q is not name=value", l)
			continue
		}
		if c.Loki.Labels == nil {
			c.Loki.Labels = map[string]string{}
		}
		c.Loki.Labels[k] = strings.TrimSpace(v)
	}

	web := r.Web
	c.Web = Web{
		Enabled:            cv.given("web", ""),
		Listen:             strings.TrimSpace(web.Listen),
		TLSCert:            strings.TrimSpace(web.Tlscert),
		TLSKey:             strings.TrimSpace(web.Tlskey),
		AdminTokens:        cv.adminTokens(web.Admintoken),
		MaxBody:            cv.size("web", "maxbody", web.Maxbody),
		MaxUpload:          cv.size("web", "maxupload", web.Maxupload),
		MaxPages:           cv.number("web", "maxpages", web.Maxpages),
		RateLimit:          cv.rate("web", "ratelimit", web.Ratelimit),
		RateBurst:          cv.number("web", "rateburst", web.Rateburst),
		UploadDir:          strings.TrimSpace(web.Uploaddir),
		PDFInfo:            strings.TrimSpace(web.Pdfinfo),
		HfaxdHost:          strings.TrimSpace(web.Hfaxdhost),
		HfaxdPort:          cv.number("web", "hfaxdport", web.Hfaxdport),
		HfaxdUser:          strings.TrimSpace(web.Hfaxduser),
		HfaxdPassword:      web.Hfaxdpassword,
		HfaxdAdminPassword: web.Hfaxdadminpassword,
	}
	if cv.err != nil {
		return nil, nil, cv.err
	}
	w, err := c.check()
	if err != nil {
		return nil, nil, err
	}
	return c, append(cv.warns, w...), nil
}

var (
	gatewayRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	prefixRe  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	causeRe   = regexp.MustCompile(`^[A-Z0-9_]+$`)
	digitsRe  = regexp.MustCompile(`^[0-9]*$`)
)

// maxFaxRcvdConcurrency bounds [gofaxd] faxrcvdconcurrency: each run is
// a process (a shell and an MTA); more at once only loads the machine.
const maxFaxRcvdConcurrency = 256

// MaxConnectionsLimit bounds [gofaxd] maxconnections: each connection
// takes two descriptors and some 20 KiB; far beyond what one FreeSWITCH
// hands one listener.
const MaxConnectionsLimit = 1_000_000

// unsafeInPath reports characters that FreeSWITCH would expand (${...}) or
// split on in the file arguments of rxfax and originate's &txfax(...).
func unsafeInPath(r rune) bool {
	return r < ' ' || r == 0x7f || strings.ContainsRune(" $`'\"{}(),\\", r)
}

// Validate reports the first setting that cannot work, as an *Error.
func (c *Config) Validate() error {
	_, err := c.check()
	return err
}

// check validates c and returns warnings about settings that work but are
// probably not what the operator wants.
func (c *Config) check() ([]string, error) {
	cv := &converter{file: c.file, lines: c.lines}
	addr := func(sect, key, v string, required bool) {
		if v == "" {
			if required {
				cv.fail(sect, key, "empty address (use host:port, e.g. 127.0.0.1:8021)")
			}
			return
		}
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			cv.fail(sect, key, "%q is not a host:port address", v)
		}
	}
	positive := func(sect, key string, d time.Duration) {
		if d <= 0 {
			cv.fail(sect, key, "must be greater than zero: every wait needs a deadline")
		}
	}

	addr("freeswitch", "socket", c.FreeSWITCH.Socket, true)
	for _, g := range c.FreeSWITCH.Gateways {
		if !gatewayRe.MatchString(g) {
			cv.fail("freeswitch", "gateway", "%q: gateway names may only hold letters, digits, '_', '.' and '-'", g)
		}
	}
	if !digitsRe.MatchString(c.FreeSWITCH.CountryCode) {
		cv.fail("freeswitch", "countrycode", "%q is not a country code (digits only, e.g. 49)", c.FreeSWITCH.CountryCode)
	}
	if !digitsRe.MatchString(c.FreeSWITCH.InternationalPrefix) {
		cv.fail("freeswitch", "internationalprefix", "%q: digits only, e.g. 00", c.FreeSWITCH.InternationalPrefix)
	}
	if !digitsRe.MatchString(c.FreeSWITCH.NationalPrefix) {
		cv.fail("freeswitch", "nationalprefix", "%q: digits only, e.g. 0", c.FreeSWITCH.NationalPrefix)
	}
	positive("freeswitch", "timeout", c.FreeSWITCH.Timeout)

	if c.HylaFAX.SpoolDir == "" {
		cv.fail("hylafax", "spooldir", "empty: the HylaFAX spool directory is required")
	}
	if i := strings.IndexFunc(c.HylaFAX.SpoolDir, unsafeInPath); i >= 0 {
		cv.fail("hylafax", "spooldir", "%q: %q cannot be passed to FreeSWITCH in rxfax/txfax arguments", c.HylaFAX.SpoolDir, c.HylaFAX.SpoolDir[i:i+1])
	}
	if !prefixRe.MatchString(c.HylaFAX.ModemPrefix) {
		cv.fail("hylafax", "modemprefix", "%q: modem names may only hold letters, digits, '_' and '-'", c.HylaFAX.ModemPrefix)
	}
	if c.HylaFAX.Modems == 0 {
		cv.warn("hylafax", "modems", "0 virtual modems: faxq can never send a fax")
	}
	positive("hylafax", "fifotimeout", c.HylaFAX.FIFOTimeout)

	addr("gofaxd", "socket", c.Gofaxd.Socket, true)
	addr("gofaxd", "metrics", c.Gofaxd.Metrics, false)
	if len(c.Gofaxd.RecipientFrom) == 0 {
		cv.fail("gofaxd", "recipientfrom", "empty: name at least one of %s", strings.Join(recipientSources, ", "))
	}
	for _, s := range c.Gofaxd.RecipientFrom {
		if !slices.Contains(recipientSources, s) {
			cv.fail("gofaxd", "recipientfrom", "%q is not one of %s", s, strings.Join(recipientSources, ", "))
		}
	}
	positive("gofaxd", "pagetimeout", c.Gofaxd.PageTimeout)
	positive("gofaxd", "maxcalltime", c.Gofaxd.MaxCallTime)
	positive("gofaxd", "dynamicconfigtimeout", c.Gofaxd.DynamicConfigTimeout)
	positive("gofaxd", "faxrcvdtimeout", c.Gofaxd.FaxRcvdTimeout)
	if n := c.Gofaxd.MaxConnections; n < 0 || n > MaxConnectionsLimit {
		cv.fail("gofaxd", "maxconnections", "%d: between 1 and %d connections (empty: automatic)", n, MaxConnectionsLimit)
	}
	if n := c.Gofaxd.MaxSetups; n < 0 || n > MaxConnectionsLimit {
		cv.fail("gofaxd", "maxsetups", "%d: between 0 (no bound) and %d calls", n, MaxConnectionsLimit)
	}
	if n := c.Gofaxd.FaxRcvdConcurrency; n < 1 || n > maxFaxRcvdConcurrency {
		cv.fail("gofaxd", "faxrcvdconcurrency", "%d: between 1 and %d faxrcvd runs at once", n, maxFaxRcvdConcurrency)
	}
	if m := c.HylaFAX.ReceivingMode; m != 0 && m&0o600 != 0o600 {
		cv.fail("hylafax", "receivingmode", "%#o: gofaxd's own user must read and write the file (0600 at least)", m)
	}

	for _, f := range c.Gofaxsend.FailedResponse {
		if !causeRe.MatchString(f) {
			cv.fail("gofaxsend", "failedresponse", "%q is not a hangup cause name such as UNALLOCATED_NUMBER", f)
		}
	}
	if len(c.FreeSWITCH.Gateways) == 0 && c.Gofaxsend.DynamicConfig == "" {
		cv.warn("freeswitch", "gateway", "no gateway and no [gofaxsend] dynamicconfig to name one: sending will fail")
	}
	positive("gofaxsend", "ringtimeout", c.Gofaxsend.RingTimeout)
	positive("gofaxsend", "pagetimeout", c.Gofaxsend.PageTimeout)
	positive("gofaxsend", "maxcalltime", c.Gofaxsend.MaxCallTime)
	positive("gofaxsend", "dynamicconfigtimeout", c.Gofaxsend.DynamicConfigTimeout)
	if strings.ContainsFunc(c.Gofaxsend.NotifyCmd, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		cv.fail("gofaxsend", "notifycmd", "%q: a program path without blanks or arguments (it is executed directly, not by a shell)", c.Gofaxsend.NotifyCmd)
	}
	if c.FreeSWITCH.NationalLength > gofaxlib.MaxE164Digits {
		cv.fail("freeswitch", "nationallength", "%d: 0 (off) to %d", c.FreeSWITCH.NationalLength, gofaxlib.MaxE164Digits)
	}
	if c.Database.Enabled {
		c.checkDatabase(cv)
	}

	c.checkReceipts(cv, positive)
	if c.Web.Enabled {
		c.checkWeb(cv)
	}
	if cv.err != nil {
		return nil, cv.err
	}
	return cv.warns, nil
}

var lokiLabelRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// checkReceipts validates [receipts], [smtp], [webhooks] and [loki].
func (c *Config) checkReceipts(cv *converter, positive func(sect, key string, d time.Duration)) {
	var span time.Duration
	for _, d := range c.Receipts.Retry {
		positive("receipts", "retry", d)
		span += d
	}
	if span < 24*time.Hour {
		cv.warn("receipts", "retry", "the schedule spans %v: a receiver down for a day loses receipts to the dead-letter state", span)
	}
	if c.Receipts.Workers == 0 {
		cv.fail("receipts", "workers", "must be at least 1")
	}
	if c.Receipts.PerTarget == 0 {
		cv.fail("receipts", "pertarget", "must be at least 1")
	}

	s := c.SMTP
	if !slices.Contains(SMTPTLSModes, s.TLS) {
		cv.fail("smtp", "tls", "%q is not one of %s", s.TLS, strings.Join(SMTPTLSModes, ", "))
	}
	if s.Port < 1 || s.Port > 65535 {
		cv.fail("smtp", "port", "%d is not a TCP port", s.Port)
	}
	if strings.ContainsAny(s.Host, " /@") {
		cv.fail("smtp", "host", "%q is not a host name or address", s.Host)
	}
	positive("smtp", "timeout", s.Timeout)
	if s.Host != "" && !c.Database.Enabled {
		cv.warn("smtp", "host", "e-mail receipts need [database] (their events live there): without it none is sent")
	}
	if s.Host != "" {
		if s.From == "" {
			cv.fail("smtp", "from", "empty: e-mail receipts need a sender address")
		} else if _, err := mail.ParseAddress(s.From); err != nil {
			cv.fail("smtp", "from", "%q is not an address such as \"Fax <fax@example.com>\"", s.From)
		}
		if s.Username != "" && (s.TLS == TLSNone || s.TLS == TLSOpportunistic || s.TLS == TLSAuto && s.Port == 25) {
			cv.warn("smtp", "username", "credentials are only sent over TLS; with tls = %s a server without STARTTLS refuses every receipt", s.TLS)
		}
	}

	w := c.Webhooks
	positive("webhooks", "connecttimeout", w.ConnectTimeout)
	positive("webhooks", "tlstimeout", w.TLSTimeout)
	positive("webhooks", "headertimeout", w.HeaderTimeout)
	positive("webhooks", "timeout", w.Timeout)

	l := c.Loki
	if l.URL != "" {
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			cv.fail("loki", "url", "%q is not an http(s) URL such as http://loki:3100/loki/api/v1/push", l.URL)
		}
	}
	if l.Username != "" && l.BearerToken != "" {
		cv.fail("loki", "token", "set either username/password or token, not both")
	}
	for k := range l.Labels {
		if !lokiLabelRe.MatchString(k) || strings.HasPrefix(k, "__") {
			cv.fail("loki", "label", "%q is not a Loki label name", k)
		}
		if k == "job" || k == "host" || k == "level" {
			cv.fail("loki", "label", "%q is set by the job, host and level keys", k)
		}
	}
	if !slices.Contains(lokiLevels, l.Level) {
		cv.fail("loki", "level", "%q is not one of %s", l.Level, strings.Join(lokiLevels, ", "))
	}
	if l.BatchSize == 0 {
		cv.fail("loki", "batchsize", "must be at least 1")
	}
	if l.Buffer < l.BatchSize {
		cv.fail("loki", "buffer", "%d holds less than one batch (%d)", l.Buffer, l.BatchSize)
	}
	positive("loki", "batchwait", l.BatchWait)
	positive("loki", "timeout", l.Timeout)
}
