package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Database is the [database] section: the PostgreSQL database of tenants,
// numbers, users, endpoints and faxes. Without the section (Enabled
// false) gofaxd and gofaxsend need no database and behave as GOfax.IP.
type Database struct {
	Enabled bool // the file has a [database] section

	// DSN is a complete connection string (key=value pairs or a
	// postgres:// URL); when set, the discrete settings below are not.
	DSN      string // dsn
	Host     string // host: name, address or unix socket directory (localhost)
	Port     int    // port (5432)
	User     string // user (gofax)
	Password string // password ("" = none, or ~/.pgpass)
	DBName   string // dbname (gofax)
	SSLMode  string // sslmode (prefer)
	MaxConns int    // maxconns: connection pool size (10)
	// StatementTimeout bounds every query (statement_timeout); migrations
	// run without it.
	StatementTimeout time.Duration // statementtimeout (10s)
	ConnectTimeout   time.Duration // connecttimeout (10s)
	Migrate          bool          // migrate: apply migrations when gofaxd starts (true)
	UnknownNumber    string        // unknownnumber: reject or receive a call to a number no tenant has
	// Hostname names this host in the rows it writes, where several hosts
	// share one database ("" = the system's host name).
	Hostname string        // hostname
	Archive  string        // archive: directory of archived documents (spool-relative "archive")
	Refresh  time.Duration // refresh: full routing reload besides change notifications (5m)
}

// What gofaxd does with a call to a number no tenant has ([database]
// unknownnumber).
const (
	UnknownReject  = "reject"  // refuse it with [gofaxd] screenresponse before answering
	UnknownReceive = "receive" // receive it without a tenant (operator only)
)

// SSL modes lib/pq accepts.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// discrete are the settings a DSN replaces.
var discrete = []string{"host", "port", "user", "password", "dbname", "sslmode"}

var (
	hostnameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	connKeyRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// MaxHostnameLen bounds [database] hostname (a DNS name's length).
const MaxHostnameLen = 253

func (c *Config) checkDatabase(cv *converter) {
	d := &c.Database
	if d.DSN != "" {
		for _, k := range discrete {
			if cv.given("database", k) {
				cv.fail("database", k, "dsn is set as well: give either dsn or host, port, user, password, dbname and sslmode")
				return
			}
		}
		if err := checkConnString(d.DSN); err != "" {
			cv.fail("database", "dsn", "%s", err)
		}
	} else {
		if d.Host == "" || strings.ContainsAny(d.Host, " \t\r\n'\\") {
			cv.fail("database", "host", "%q: a host name, address or unix socket directory", d.Host)
		}
		if d.Port < 1 || d.Port > 65535 {
			cv.fail("database", "port", "%d is not a TCP port", d.Port)
		}
		if d.User == "" {
			cv.fail("database", "user", "empty: name the PostgreSQL role")
		}
		if d.DBName == "" {
			cv.fail("database", "dbname", "empty: name the database")
		}
		if !slices.Contains(sslModes, d.SSLMode) {
			cv.fail("database", "sslmode", "%q is not one of %s", d.SSLMode, strings.Join(sslModes, ", "))
		}
		if strings.ContainsAny(d.Password, "\x00\r\n") {
			cv.fail("database", "password", "control characters are not allowed")
		}
	}
	if d.MaxConns < 1 || d.MaxConns > 1000 {
		cv.fail("database", "maxconns", "%d: 1 to 1000 connections", d.MaxConns)
	}
	if d.StatementTimeout <= 0 {
		cv.fail("database", "statementtimeout", "must be greater than zero: every query needs a deadline")
	}
	if d.ConnectTimeout <= 0 {
		cv.fail("database", "connecttimeout", "must be greater than zero: every wait needs a deadline")
	}
	if d.Refresh <= 0 {
		cv.fail("database", "refresh", "must be greater than zero")
	}
	if d.UnknownNumber != UnknownReject && d.UnknownNumber != UnknownReceive {
		cv.fail("database", "unknownnumber", "%q: reject or receive", d.UnknownNumber)
	}
	if d.Hostname != "" && (len(d.Hostname) > MaxHostnameLen || !hostnameRe.MatchString(d.Hostname)) {
		cv.fail("database", "hostname", "%q: letters, digits, '.', '_' and '-'", d.Hostname)
	}
	if d.Archive == "" {
		cv.fail("database", "archive", "empty: received and sent documents are archived there")
	}
	if err := c.NumberPlan().Validate(); err != nil {
		key := "internationalprefix"
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "country code"):
			key = "countrycode"
		case strings.HasPrefix(msg, "national prefix"):
			key = "nationalprefix"
		case strings.HasPrefix(msg, "national length"):
			key = "nationallength"
		}
		cv.fail("freeswitch", key, "%v (numbers of the tenant database are normalised with this plan)", err)
	}
}

// checkConnString checks the form of a DSN (not whether it connects):
// a postgres:// or postgresql:// URL, or key=value pairs whose values are
// plain or single-quoted with backslash escapes. It returns "" or why not;
// the reason never quotes the DSN (it holds the password, and goes into
// logs and qfile status lines).
func checkConnString(s string) string {
	if strings.ContainsAny(s, "\x00\r\n") {
		return "control characters are not allowed"
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		if _, err := url.Parse(s); err != nil {
			return "not a valid URL: " + urlProblem(err)
		}
		return ""
	}
	i, n := 0, 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return "not a postgres:// URL nor key=value pairs"
		}
		key := strings.TrimRight(s[i:i+eq], " \t")
		if !connKeyRe.MatchString(key) {
			// Not quoted: a mistyped value may have run into it.
			return fmt.Sprintf("the text at byte %d is not a connection parameter name (letters, digits and '_')", i+1)
		}
		i += eq + 1
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' {
					i += 2
					continue
				}
				if s[i] == '\'' {
					closed = true
					i++
					break
				}
				i++
			}
			if !closed {
				return "unterminated quoted value of " + key
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		}
		n++
	}
	if n == 0 {
		return "empty"
	}
	return ""
}

// urlProblem says what url.Parse found wrong in a DSN without quoting
// any of it: url.Error's own text holds the whole URL, and the inner
// errors quote the part they refuse (a port, an escape), which may be a
// piece of the password when that holds '/', '?', '#' or '%'.
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := strings.TrimPrefix(err.Error(), "net/url: ")
	msg = strings.Join(strings.Fields(quotedRe.ReplaceAllString(msg, "")), " ")
	return msg + " (percent-encode '/', '?', '#', '@' and '%' in the user name and password)"
}

// quotedRe matches a double-quoted part of an error text (Go's %q).
var quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// ConnString returns the DSN to connect with: DSN when set, else the
// discrete settings as key=value pairs (quoted where needed). Pool size and
// timeouts are not part of it.
func (d *Database) ConnString() string {
	if d.DSN != "" {
		return d.DSN
	}
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + quoteConnValue(v))
	}
	add("host", d.Host)
	add("port", strconv.Itoa(d.Port))
	add("user", d.User)
	add("password", d.Password)
	add("dbname", d.DBName)
	add("sslmode", d.SSLMode)
	return b.String()
}

// quoteConnValue writes a value of a key=value DSN: single-quoted, with
// backslash before ' and \, when it is empty or holds those or blanks.
func quoteConnValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// NumberPlan is how numbers are written here ([freeswitch] countrycode,
// nationalprefix, internationalprefix, nationallength).
func (c *Config) NumberPlan() gofaxlib.NumberPlan {
	return gofaxlib.NumberPlan{
		CountryCode:         c.FreeSWITCH.CountryCode,
		NationalPrefix:      c.FreeSWITCH.NationalPrefix,
		InternationalPrefix: c.FreeSWITCH.InternationalPrefix,
		NationalLength:      c.FreeSWITCH.NationalLength,
	}
}
