package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// dump renders a Config one "Section.Field = value" line per field.
func dump(c *Config) string {
	var b strings.Builder
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		sect := v.Field(i)
		for j := 0; j < sect.NumField(); j++ {
			fmt.Fprintf(&b, "%s.%s = %v\n", v.Type().Field(i).Name, sect.Type().Field(j).Name, sect.Field(j).Interface())
		}
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), []byte(got))
}

// TestSampleConfig loads the shipped sample: it must load without a single
// warning, and every key it documents must be one the loader knows.
func TestSampleConfig(t *testing.T) {
	c, warns, err := loadCheckout(t, "../../config/gofax.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Errorf("sample config gives warnings: %q", warns)
	}
	checkGolden(t, "sample.txt", dump(c))
}

// TestSampleDocumentsEveryKey checks that config/gofax.conf mentions every
// key the loader accepts (as a setting or a commented-out example).
func TestSampleDocumentsEveryKey(t *testing.T) {
	src, err := os.ReadFile("../../config/gofax.conf")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(string(src))
	rt := reflect.TypeOf(raw{})
	for i := 0; i < rt.NumField(); i++ {
		sect := rt.Field(i)
		if !strings.Contains(text, "["+strings.ToLower(sect.Name)+"]") {
			t.Errorf("section [%s] not in sample", strings.ToLower(sect.Name))
		}
		for j := 0; j < sect.Type.NumField(); j++ {
			key := strings.ToLower(sect.Type.Field(j).Name)
			if !strings.Contains(text, "\n"+key+" =") && !strings.Contains(text, "\n;"+key+" =") {
				t.Errorf("[%s] %s is not documented in config/gofax.conf", strings.ToLower(sect.Name), key)
			}
		}
	}
}

func TestGOfaxIPConfig(t *testing.T) {
	c, warns, err := loadCheckout(t, "testdata/gofaxip.conf")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "gofaxip.txt", dump(c))
	checkGolden(t, "gofaxip-warnings.txt", strings.Join(warns, "\n")+"\n")
	// The points that matter for a drop-in replacement, spelled out.
	if c.HylaFAX.Modems != 5 || c.Gofaxd.AnswerAfter != 2*time.Second || c.Gofaxd.WaitTime != time.Second {
		t.Errorf("numbers misread: %+v %+v", c.HylaFAX, c.Gofaxd)
	}
	if got := c.Gofaxd.RecipientFrom; !reflect.DeepEqual(got, []string{"diversion"}) {
		t.Errorf("recipientfromdiversionheader=true gives RecipientFrom %q, want [diversion]", got)
	}
	if got := c.Gofaxsend.FailedResponse; !reflect.DeepEqual(got, []string{"UNALLOCATED_NUMBER", "CALL_REJECTED"}) {
		t.Errorf("FailedResponse = %q: a list in the file must replace the default", got)
	}
	if c.Gofaxsend.DisableV17AfterRetry != 2 || c.Gofaxsend.DisableECMAfterRetry != 3 {
		t.Errorf("retry counters = %d, %d", c.Gofaxsend.DisableV17AfterRetry, c.Gofaxsend.DisableECMAfterRetry)
	}
	if !reflect.DeepEqual(c.FreeSWITCH.Gateways, []string{"default", "fallbackgw"}) {
		t.Errorf("Gateways = %q", c.FreeSWITCH.Gateways)
	}
	for _, want := range []string{"testdata/gofaxip.conf:24: [gofaxd] acceptt38: unknown key", "[gofaxsend] offert38", "[nosuchsection]: unknown section"} {
		if !strings.Contains(strings.Join(warns, "\n"), want) {
			t.Errorf("warnings %q lack %q", warns, want)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "default.txt", dump(c))
	// An empty file is the defaults.
	e, warns, err := Parse("empty.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if dump(e) != dump(c) {
		t.Error("empty file differs from Default()")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "no gateway") {
		t.Errorf("warnings = %q, want only the missing gateway", warns)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*Config) bool
		warn  string // substring of a warning, "" = none expected
	}{
		{"failedresponse blank empties", "[gofaxsend]\nfailedresponse\n", func(c *Config) bool { return len(c.Gofaxsend.FailedResponse) == 0 }, ""},
		{"failedresponse upper-cased", "[gofaxsend]\nfailedresponse = user_busy\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Gofaxsend.FailedResponse, []string{"USER_BUSY"})
		}, ""},
		{"recipientfrom order", "[gofaxd]\nrecipientfrom = History-Info\nrecipientfrom = to\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Gofaxd.RecipientFrom, []string{"history-info", "to"})
		}, ""},
		{"recipientfrom beats diversion switch", "[gofaxd]\nrecipientfromdiversionheader = true\nrecipientfrom = p-called-party-id\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Gofaxd.RecipientFrom, []string{"p-called-party-id"})
		}, "recipientfromdiversionheader: ignored"},
		{"bool alone is true", "[gofaxd]\nenablet38\n", func(c *Config) bool { return c.Gofaxd.EnableT38 }, ""},
		{"durations", "[gofaxsend]\npagetimeout = 90\nmaxcalltime = 1h30m\n", func(c *Config) bool {
			return c.Gofaxsend.PageTimeout == 90*time.Second && c.Gofaxsend.MaxCallTime == 90*time.Minute
		}, ""},
		{"answerafter in ms", "[gofaxd]\nanswerafter = 1500\n", func(c *Config) bool { return c.Gofaxd.AnswerAfter == 1500*time.Millisecond }, ""},
		{"modes", "[hylafax]\nrecvfilemode = 0640\n", func(c *Config) bool { return c.HylaFAX.RecvFileMode == 0o640 }, ""},
		{"receiving mode", "[hylafax]\nreceivingmode = 0660\n", func(c *Config) bool { return c.HylaFAX.ReceivingMode == 0o660 }, ""},
		{"receiving mode empty", "[hylafax]\nreceivingmode =\n", func(c *Config) bool { return c.HylaFAX.ReceivingMode == 0 }, ""},
		{"faxrcvd concurrency", "[gofaxd]\nfaxrcvdconcurrency = 16\n", func(c *Config) bool { return c.Gofaxd.FaxRcvdConcurrency == 16 }, ""},
		{"faxrcvd defer default", "", func(c *Config) bool { return c.Gofaxd.FaxRcvdDefer == 2*time.Second }, ""},
		{"faxrcvd defer off", "[gofaxd]\nfaxrcvddefer = 0\n", func(c *Config) bool { return c.Gofaxd.FaxRcvdDefer == 0 }, ""},
		{"faxrcvd defer", "[gofaxd]\nfaxrcvddefer = 500ms\n", func(c *Config) bool { return c.Gofaxd.FaxRcvdDefer == 500*time.Millisecond }, ""},
		{"syncfs default", "", func(c *Config) bool { return c.Gofaxd.SyncFS }, ""},
		{"syncfs off", "[gofaxd]\nsyncfs = false\n", func(c *Config) bool { return !c.Gofaxd.SyncFS }, ""},
		{"retry counter tolerant", "[gofaxsend]\ndisablev17afterretry = never\n", func(c *Config) bool { return c.Gofaxsend.DisableV17AfterRetry == 0 }, `"never" is not a non-negative whole number, using 0`},
		{"retry counter empty", "[gofaxsend]\ndisableecmafterretry = \"\"\n", func(c *Config) bool { return c.Gofaxsend.DisableECMAfterRetry == 0 }, ""},
		{"modems 0 warns", "[hylafax]\nmodems = 0\n", func(c *Config) bool { return c.HylaFAX.Modems == 0 }, "t.conf:2: [hylafax] modems: 0 virtual modems"},
		{"empty faxrcvdcmd is bin/faxrcvd", "[gofaxd]\nfaxrcvdcmd =\n", func(c *Config) bool { return c.Gofaxd.FaxRcvdCmd == "bin/faxrcvd" }, ""},
		{"case-insensitive names", "[GoFaxD]\nSOCKET = 127.0.0.1:9\n", func(c *Config) bool { return c.Gofaxd.Socket == "127.0.0.1:9" }, ""},
		{"subsection warns", "[gofaxd \"x\"]\nsocket = 1.2.3.4:5\n", func(c *Config) bool { return c.Gofaxd.Socket == "127.0.0.1:8022" }, "subsections are not used"},
		{"bom skipped", "\ufeff[hylafax]\nmodems = 3\n", func(c *Config) bool { return c.HylaFAX.Modems == 3 }, ""},
		{"smtp", "[database]\n[smtp]\nhost = mail.example.com\nport = 465\ntls = TLS\nfrom = \"Fax <fax@example.com>\"\nusername = u\npassword = p\n", func(c *Config) bool {
			return c.SMTP.Host == "mail.example.com" && c.SMTP.Port == 465 && c.SMTP.TLS == TLSImplicit && c.SMTP.Username == "u"
		}, ""},
		{"smtp without database warns", "[smtp]\nhost = mail.example.com\nfrom = fax@example.com\n", func(c *Config) bool { return c.SMTP.Host != "" },
			"t.conf:2: [smtp] host: e-mail receipts need [database]"},
		{"smtp auth without tls warns", "[smtp]\nhost = h\nfrom = a@example.com\ntls = opportunistic\nusername = u\n", func(c *Config) bool { return c.SMTP.TLS == TLSOpportunistic },
			"t.conf:5: [smtp] username: credentials are only sent over TLS"},
		{"smtp auth on port 25 warns", "[smtp]\nhost = h\nport = 25\nfrom = a@example.com\nusername = u\n", func(c *Config) bool { return c.SMTP.Port == 25 },
			"[smtp] username: credentials are only sent over TLS; with tls = auto"},
		{"retry schedule", "[receipts]\nretry = 1m\nretry = 24h\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Receipts.Retry, []time.Duration{time.Minute, 24 * time.Hour})
		}, ""},
		{"short retry schedule warns", "[receipts]\nretry = 10\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Receipts.Retry, []time.Duration{10 * time.Second})
		}, "t.conf:2: [receipts] retry: the schedule spans 10s"},
		{"webhook networks", "[webhooks]\nallow = 10.1.2.3\nallow = fd00:1::/64\ndeny = ::ffff:10.0.0.0/104\n", func(c *Config) bool {
			return fmt.Sprint(c.Webhooks.Allow) == "[10.1.2.3/32 fd00:1::/64]" && fmt.Sprint(c.Webhooks.Deny) == "[10.0.0.0/8]"
		}, ""},
		{"webhook default deny", "[webhooks]\ntimeout = 5s\n", func(c *Config) bool { return c.Webhooks.Deny == nil && c.Webhooks.Timeout == 5*time.Second }, ""},
		{"webhook deny nothing", "[webhooks]\ndeny\n", func(c *Config) bool { return c.Webhooks.Deny != nil && len(c.Webhooks.Deny) == 0 }, ""},
		{"loki", "[loki]\nurl = https://loki.example.com/loki/api/v1/push\ntoken = t\nlabel = env=prod\nlabel = dc = fra\nlevel = WARN\n", func(c *Config) bool {
			return c.Loki.URL != "" && c.Loki.BearerToken == "t" && c.Loki.Level == "warn" &&
				reflect.DeepEqual(c.Loki.Labels, map[string]string{"env": "prod", "dc": "fra"})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.conf", []byte(tt.src+"\n[freeswitch]\ngateway = gw\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config:\n%s", dump(c))
			}
			all := strings.Join(warns, "\n")
			if tt.warn == "" && len(warns) > 0 {
				t.Errorf("unexpected warnings %q", warns)
			}
			if tt.warn != "" && !strings.Contains(all, tt.warn) {
				t.Errorf("warnings %q lack %q", warns, tt.warn)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // exact message
	}{
		{"syntax", "[gofaxd]\nsocket 1.2.3.4:5\n", "config: bad.conf:2: invalid setting: illegal character U+0031 '1'"},
		{"bad bool", "[gofaxd]\n\nenablet38 = maybe\n", `config: bad.conf:3: [gofaxd] enablet38: invalid setting: failed to parse bool ` + "`maybe`"},
		{"bad duration", "[gofaxsend]\npagetimeout = soon\n", `config: bad.conf:2: [gofaxsend] pagetimeout: invalid setting: "soon" is not a duration (e.g. 30s, 5m, or a number of seconds)`},
		{"zero timeout", "[gofaxd]\nmaxcalltime = 0\n", "config: bad.conf:2: [gofaxd] maxcalltime: invalid setting: must be greater than zero: every wait needs a deadline"},
		{"bad modems", "[hylafax]\nmodems = five\n", `config: bad.conf:2: [hylafax] modems: invalid setting: "five" is not a non-negative whole number`},
		{"bad mode", "[hylafax]\nrecvfilemode = 0999\n", `config: bad.conf:2: [hylafax] recvfilemode: invalid setting: "0999" is not an octal file mode such as 0600`},
		{"receiving mode gofaxd cannot write", "[hylafax]\nreceivingmode = 0460\n", `config: bad.conf:2: [hylafax] receivingmode: invalid setting: 0460: gofaxd's own user must read and write the file (0600 at least)`},
		{"negative faxrcvd defer", "[gofaxd]\nfaxrcvddefer = -1s\n", `config: bad.conf:2: [gofaxd] faxrcvddefer: invalid setting: "-1s" is not a duration (e.g. 30s, 5m, or a number of seconds)`},
		{"no faxrcvd at all", "[gofaxd]\nfaxrcvdconcurrency = 0\n", `config: bad.conf:2: [gofaxd] faxrcvdconcurrency: invalid setting: 0: between 1 and 256 faxrcvd runs at once`},
		{"empty socket", "[gofaxd]\nsocket = \"\"\n", "config: bad.conf:2: [gofaxd] socket: invalid setting: empty address (use host:port, e.g. 127.0.0.1:8021)"},
		{"bad socket", "[freeswitch]\nsocket = localhost\n", `config: bad.conf:2: [freeswitch] socket: invalid setting: "localhost" is not a host:port address`},
		{"bad gateway", "[freeswitch]\ngateway = a,b\n", `config: bad.conf:2: [freeswitch] gateway: invalid setting: "a,b": gateway names may only hold letters, digits, '_', '.' and '-'`},
		{"bad recipient source", "[gofaxd]\nrecipientfrom = from\n", `config: bad.conf:2: [gofaxd] recipientfrom: invalid setting: "from" is not one of diversion, history-info, p-called-party-id, to, request-uri`},
		{"bad sip code", "[gofaxd]\nrejectresponse = 200\n", `config: bad.conf:2: [gofaxd] rejectresponse: invalid setting: "200" is not a SIP failure response code (400-699)`},
		{"bad cause", "[gofaxsend]\nfailedresponse = user busy\n", `config: bad.conf:2: [gofaxsend] failedresponse: invalid setting: "USER BUSY" is not a hangup cause name such as UNALLOCATED_NUMBER`},
		{"spooldir FreeSWITCH would expand", "[hylafax]\nspooldir = /srv/${x}\n", `config: bad.conf:2: [hylafax] spooldir: invalid setting: "/srv/${x}": "$" cannot be passed to FreeSWITCH in rxfax/txfax arguments`},
		{"spooldir with a blank", "[hylafax]\nspooldir = \"/srv/fax spool\"\n", `config: bad.conf:2: [hylafax] spooldir: invalid setting: "/srv/fax spool": " " cannot be passed to FreeSWITCH in rxfax/txfax arguments`},
		{"bad prefix", "[hylafax]\nmodemprefix = ../x\n", `config: bad.conf:2: [hylafax] modemprefix: invalid setting: "../x": modem names may only hold letters, digits, '_' and '-'`},
		{"empty spool", "[hylafax]\nspooldir = \"\"\n", "config: bad.conf:2: [hylafax] spooldir: invalid setting: empty: the HylaFAX spool directory is required"},
		{"bad country code", "[freeswitch]\ncountrycode = +49\n", `config: bad.conf:2: [freeswitch] countrycode: invalid setting: "+49" is not a country code (digits only, e.g. 49)`},
		{"bad retry", "[receipts]\nretry = 1m\nretry = 0\n", `config: bad.conf:2: [receipts] retry: invalid setting: must be greater than zero: every wait needs a deadline`},
		{"no workers", "[receipts]\nworkers = 0\n", `config: bad.conf:2: [receipts] workers: invalid setting: must be at least 1`},
		{"bad smtp tls", "[smtp]\ntls = ssl\n", `config: bad.conf:2: [smtp] tls: invalid setting: "ssl" is not one of auto, starttls, tls, opportunistic, none`},
		{"bad smtp port", "[smtp]\nport = 70000\n", `config: bad.conf:2: [smtp] port: invalid setting: 70000 is not a TCP port`},
		{"smtp without from", "[smtp]\nhost = mail.example.com\n", `config: bad.conf:1: [smtp] from: invalid setting: empty: e-mail receipts need a sender address`},
		{"bad smtp from", "[smtp]\nhost = h\nfrom = fax\n", `config: bad.conf:3: [smtp] from: invalid setting: "fax" is not an address such as "Fax <fax@example.com>"`},
		{"bad smtp host", "[smtp]\nhost = fax@example.com\n", `config: bad.conf:2: [smtp] host: invalid setting: "fax@example.com" is not a host name or address`},
		{"bad network", "[webhooks]\nallow = 10.0.0.0/33\n", `config: bad.conf:2: [webhooks] allow: invalid setting: "10.0.0.0/33" is not a network in CIDR notation (e.g. 10.0.0.0/8, fd00::/8)`},
		{"zero webhook timeout", "[webhooks]\nheadertimeout = 0\n", `config: bad.conf:2: [webhooks] headertimeout: invalid setting: must be greater than zero: every wait needs a deadline`},
		{"bad loki url", "[loki]\nurl = loki:3100\n", `config: bad.conf:2: [loki] url: invalid setting: "loki:3100" is not an http(s) URL such as http://loki:3100/loki/api/v1/push`},
		{"loki basic and token", "[loki]\nusername = u\ntoken = t\n", `config: bad.conf:3: [loki] token: invalid setting: set either username/password or token, not both`},
		{"loki label syntax", "[loki]\nlabel = env\n", `config: bad.conf:2: [loki] label: invalid setting: "env" is not name=value`},
		{"loki label name", "[loki]\nlabel = data-center=x\n", `config: bad.conf:2: [loki] label: invalid setting: "data-center" is not a Loki label name`},
		{"loki reserved label", "[loki]\nlabel = level=x\n", `config: bad.conf:2: [loki] label: invalid setting: "level" is set by the job, host and level keys`},
		{"loki level", "[loki]\nlevel = trace\n", `config: bad.conf:2: [loki] level: invalid setting: "trace" is not one of debug, info, warn, error`},
		{"loki buffer", "[loki]\nbuffer = 10\n", `config: bad.conf:2: [loki] buffer: invalid setting: 10 holds less than one batch (500)`},
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
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %T is not an *Error wrapping ErrInvalid", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.conf")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized file: %v", err)
	}
}

// loadCheckout is Load for a file of the checkout, without the warning
// about its mode: git checks files out readable by everybody.
func loadCheckout(t *testing.T, path string) (*Config, []string, error) {
	t.Helper()
	c, warns, err := Load(path)
	fi, serr := os.Stat(path)
	if serr != nil {
		t.Fatal(serr)
	}
	if mw := ModeWarning(path, fi.Mode()); mw != "" {
		if len(warns) == 0 || warns[0] != mw {
			t.Fatalf("%s (mode %v): Load's first warning is not about the mode: %q", path, fi.Mode(), warns)
		}
		warns = warns[1:]
	}
	return c, warns, err
}

// TestLoadModeWarning: a configuration file every user may read (it
// holds the event socket password) gives one warning naming the file and
// its mode; 0640 root:uucp, as the package installs it, gives none.
func TestLoadModeWarning(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{
		{0o600, false},
		{0o640, false},
		{0o660, false},
		{0o644, true},
		{0o604, true},
		{0o666, true},
	} {
		t.Run(fmt.Sprintf("%#o", tc.mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gofax.conf")
			if err := os.WriteFile(path, []byte("[freeswitch]\npassword = secret\ngateway = carrier\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, warns, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.warn {
				if len(warns) != 0 {
					t.Errorf("warnings %q, want none", warns)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("warnings %q, want one about the mode", warns)
			}
			for _, want := range []string{"config: " + path + ":", fmt.Sprintf("mode %#o", tc.mode), "readable by every user", "0640"} {
				if !strings.Contains(warns[0], want) {
					t.Errorf("warning %q lacks %q", warns[0], want)
				}
			}
			if strings.Contains(warns[0], "\n") {
				t.Errorf("warning %q is not one line", warns[0])
			}
		})
	}
}

func TestSpoolPath(t *testing.T) {
	c := Default()
	for in, want := range map[string]string{"etc/DynamicConfig": "/var/spool/hylafax/etc/DynamicConfig", "/usr/bin/x": "/usr/bin/x", "": ""} {
		if got := c.SpoolPath(in); got != want {
			t.Errorf("SpoolPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../config/gofax.conf", "testdata/gofaxip.conf"} {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("[gofaxd]\nsocket = \"a\\\n"))
	f.Add([]byte("[receipts]\nretry = 1m\n[smtp]\nhost = h\nfrom = a@b\ntls = tls\n[webhooks]\nallow = 10.0.0.0/8\ndeny\n[loki]\nurl = http://l/p\nlabel = a=b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, _, err := Parse("fuzz.conf", src)
		if err == nil && c.Validate() != nil {
			t.Errorf("Parse accepted a config that Validate rejects: %v", c.Validate())
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, _, err := Load("../../config/gofax.conf"); err != nil {
			b.Fatal(err)
		}
	}
}
