package config

import (
	"fmt"
	"io/fs"
	"net"
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
		Timeout             string
	}
	Hylafax struct {
		Spooldir     string
		Modems       string
		Xferfaxlog   string
		Modemprefix  string
		Recvfilemode string
		Logfilemode  string
		Fifotimeout  string
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
	r.Gofaxd.Shutdowngrace = "60s"
	r.Gofaxsend.Ringtimeout = "60s"
	r.Gofaxsend.Pagetimeout = "5m"
	r.Gofaxsend.Maxcalltime = "2h"
	r.Gofaxsend.Dynamicconfigtimeout = "30s"
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

func (cv *converter) at(sect, key string) *Error {
	return &Error{File: cv.file, Line: cv.lines[sect+"."+key], Section: sect, Key: key}
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

func (cv *converter) given(sect, key string) bool {
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

func (cv *converter) mode(sect, key, v string) fs.FileMode {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
	if err != nil || n > 0o777 {
		cv.fail(sect, key, "%q is not an octal file mode such as 0600", v)
		return 0
	}
	return fs.FileMode(n)
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
		Timeout:             cv.duration("freeswitch", "timeout", fsw.Timeout, time.Second),
	}

	hf := r.Hylafax
	c.HylaFAX = HylaFAX{
		SpoolDir:     strings.TrimSpace(hf.Spooldir),
		Modems:       cv.number("hylafax", "modems", hf.Modems),
		XferFaxLog:   strings.TrimSpace(hf.Xferfaxlog),
		ModemPrefix:  strings.TrimSpace(hf.Modemprefix),
		RecvFileMode: cv.mode("hylafax", "recvfilemode", hf.Recvfilemode),
		LogFileMode:  cv.mode("hylafax", "logfilemode", hf.Logfilemode),
		FIFOTimeout:  cv.duration("hylafax", "fifotimeout", hf.Fifotimeout, time.Second),
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
	}
	for i, f := range c.Gofaxsend.FailedResponse {
		c.Gofaxsend.FailedResponse[i] = strings.ToUpper(f)
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
	if cv.err != nil {
		return nil, cv.err
	}
	return cv.warns, nil
}
