package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDatabaseSection(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*Config) bool
	}{
		{"absent", "", func(c *Config) bool { return !c.Database.Enabled }},
		{"empty section: defaults", "[database]\n", func(c *Config) bool {
			d := c.Database
			return d.Enabled && d.Migrate && d.UnknownNumber == UnknownReject && d.MaxConns == 10 &&
				d.StatementTimeout == 10*time.Second && d.Refresh == 5*time.Minute && d.Archive == "archive" &&
				d.ConnString() == "host=localhost port=5432 user=gofax dbname=gofax sslmode=prefer"
		}},
		{"discrete settings", "[database]\nhost = /var/run/postgresql\nport = 5433\nuser = fax\npassword = \"it's a secret\"\ndbname = faxes\nsslmode = Disable\nmaxconns = 4\nstatementtimeout = 2s\nmigrate = false\nunknownnumber = Receive\nhostname = fax-1.example.com\nrefresh = 60\n", func(c *Config) bool {
			d := c.Database
			return d.ConnString() == `host=/var/run/postgresql port=5433 user=fax password='it\'s a secret' dbname=faxes sslmode=disable` &&
				d.MaxConns == 4 && d.StatementTimeout == 2*time.Second && !d.Migrate && d.UnknownNumber == UnknownReceive &&
				d.Hostname == "fax-1.example.com" && d.Refresh == time.Minute
		}},
		{"dsn", "[database]\ndsn = \"host=db user=gofax password='a b' dbname=gofax sslmode=verify-full\"\n", func(c *Config) bool {
			return c.Database.ConnString() == "host=db user=gofax password='a b' dbname=gofax sslmode=verify-full"
		}},
		{"dsn url", "[database]\ndsn = postgres://gofax@db.example.com/gofax?sslmode=verify-full\n", func(c *Config) bool {
			return c.Database.ConnString() == "postgres://gofax@db.example.com/gofax?sslmode=verify-full"
		}},
		{"NANP plan", "[freeswitch]\ncountrycode = 1\nnationalprefix = 1\ninternationalprefix = 011\nnationallength = 10\n[database]\n", func(c *Config) bool {
			n, err := c.NumberPlan().E164("555 123 4567")
			return err == nil && n == "+15551234567"
		}},
		{"odd plan without database", "[freeswitch]\ninternationalprefix = 0\nnationalprefix = 0\n", func(c *Config) bool { return !c.Database.Enabled }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.conf", []byte("[freeswitch]\ngateway = gw\n"+tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) > 0 {
				t.Errorf("warnings %q", warns)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config:\n%s", dump(c))
			}
		})
	}
}

func TestDatabaseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"dsn and host", "[database]\ndsn = host=a\nhost = b\n", "config: bad.conf:3: [database] host: invalid setting: dsn is set as well: give either dsn or host, port, user, password, dbname and sslmode"},
		{"dsn garbage", "[database]\ndsn = unused\n", "config: bad.conf:2: [database] dsn: invalid setting: not a postgres:// URL nor key=value pairs"},
		{"dsn unterminated", "[database]\ndsn = \"password='x\"\n", "config: bad.conf:2: [database] dsn: invalid setting: unterminated quoted value of password"},
		{"dsn bad key", "[database]\ndsn = \"host=a b-c=d\"\n", "config: bad.conf:2: [database] dsn: invalid setting: the text at byte 8 is not a connection parameter name (letters, digits and '_')"},
		{"dsn bad url", "[database]\ndsn = postgres://[::1\n", "config: bad.conf:2: [database] dsn: invalid setting: not a valid URL: missing ']' in host (percent-encode '/', '?', '#', '@' and '%' in the user name and password)"},
		{"bad port", "[database]\nport = 70000\n", "config: bad.conf:2: [database] port: invalid setting: 70000 is not a TCP port"},
		{"port not a number", "[database]\nport = pg\n", `config: bad.conf:2: [database] port: invalid setting: "pg" is not a non-negative whole number`},
		{"empty user", "[database]\nuser =\n", "config: bad.conf:2: [database] user: invalid setting: empty: name the PostgreSQL role"},
		{"bad sslmode", "[database]\nsslmode = maybe\n", `config: bad.conf:2: [database] sslmode: invalid setting: "maybe" is not one of disable, allow, prefer, require, verify-ca, verify-full`},
		{"host with blank", "[database]\nhost = \"a b\"\n", `config: bad.conf:2: [database] host: invalid setting: "a b": a host name, address or unix socket directory`},
		{"zero pool", "[database]\nmaxconns = 0\n", "config: bad.conf:2: [database] maxconns: invalid setting: 0: 1 to 1000 connections"},
		{"zero statement timeout", "[database]\nstatementtimeout = 0\n", "config: bad.conf:2: [database] statementtimeout: invalid setting: must be greater than zero: every query needs a deadline"},
		{"bad unknownnumber", "[database]\nunknownnumber = forward\n", `config: bad.conf:2: [database] unknownnumber: invalid setting: "forward": reject or receive`},
		{"bad hostname", "[database]\nhostname = \"fax host\"\n", `config: bad.conf:2: [database] hostname: invalid setting: "fax host": letters, digits, '.', '_' and '-'`},
		{"empty archive", "[database]\narchive =\n", "config: bad.conf:2: [database] archive: invalid setting: empty: received and sent documents are archived there"},
		{"bad migrate", "[database]\nmigrate = sometimes\n", "config: bad.conf:2: [database] migrate: invalid setting: failed to parse bool `sometimes`"},
		{"prefixes clash", "[freeswitch]\ninternationalprefix = 0\nnationalprefix = 0\n[database]\n", `config: bad.conf:2: [freeswitch] internationalprefix: invalid setting: international prefix "0" starts the national prefix "0" (numbers of the tenant database are normalised with this plan)`},
		{"long country code", "[freeswitch]\ncountrycode = 4912\n[database]\n", `config: bad.conf:2: [freeswitch] countrycode: invalid setting: country code "4912": at most 3 digits (numbers of the tenant database are normalised with this plan)`},
		{"national length", "[freeswitch]\nnationallength = 16\n", "config: bad.conf:2: [freeswitch] nationallength: invalid setting: 16: 0 (off) to 15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("bad.conf", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

func TestCheckConnString(t *testing.T) {
	for _, ok := range []string{"host=a", " host = a  port=5 ", `password='a\'b c' user=x`, `password=a\ b`, "host=''", "postgresql://x/y"} {
		if msg := checkConnString(ok); msg != "" {
			t.Errorf("%q: %s", ok, msg)
		}
	}
	for _, bad := range []string{"", "   ", "host", "=a", "host=a\nuser=b", "postgres://[::1"} {
		if msg := checkConnString(bad); msg == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := quoteConnValue(`a'b\c`); got != `'a\'b\\c'` {
		t.Errorf("quoteConnValue = %s", got)
	}
	if !strings.Contains(quoteConnValue(""), "''") {
		t.Error("empty value not quoted")
	}
}

// TestDSNErrorHidesPassword: a DSN that is not valid is reported by
// setting, file and line, never with its text: the password in it would
// go into logs and qfile status lines.
func TestDSNErrorHidesPassword(t *testing.T) {
	const secret = "Sekr1t"
	for _, dsn := range []string{
		"postgres://gofax:" + secret + "@[::1/gofax",        // bad host
		"postgres://gofax:" + secret + "%zz@db/gofax",       // bad escape in the password
		"postgres://gofax:" + secret + "%@db/gofax",         // bad escape at its end
		"postgres://gofax:" + secret + "/x@db:5432/gofax",   // '/' in it: the rest taken for the port
		"postgres://gofax:" + secret + "?@db/gofax",         // '?' in it
		"postgres://gofax:pw:" + secret + "@db:port/gofax",  // port not a number
		"postgresql://gofax:" + secret + " x@db/gofax",      // a blank
		"host=db password=" + secret + " " + secret + "!=1", // a value run into the next key
		"host=db password='" + secret,                       // unterminated
	} {
		t.Run(dsn, func(t *testing.T) {
			_, _, err := Parse("db.conf", []byte("[database]\ndsn = \""+dsn+"\"\n"))
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "db.conf" || ce.Line != 2 || ce.Key != "dsn" {
				t.Errorf("error %v does not name the setting", err)
			}
			// Not even a piece of the password.
			for _, part := range []string{secret, secret[:3], secret[3:], "%zz", "/x"} {
				if strings.Contains(err.Error(), part) {
					t.Errorf("error %q holds %q", err, part)
				}
			}
		})
	}
}
