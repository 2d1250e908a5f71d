package config

import (
	"crypto/sha256"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// abcHash is the SHA-256 of the token "abc".
const abcHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

func TestWebSection(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*Config) bool
		warn  string // substring of the only warning expected, "" = none
	}{
		{"absent", "", func(c *Config) bool { return !c.Web.Enabled }, ""},
		{"defaults", "[web]\nadmintoken = ops:" + abcHash + "\n", func(c *Config) bool {
			w := c.Web
			return w.Enabled && w.Listen == "127.0.0.1:8417" && w.MaxBody == 1<<20 && w.MaxUpload == 50<<20 &&
				w.MaxPages == 500 && w.RateLimit == 20 && w.RateBurst == 40 && w.UploadDir == "tmp/gofax-api" &&
				w.PDFInfo == "pdfinfo" && w.HfaxdHost == "127.0.0.1" && w.HfaxdPort == 4559 && w.HfaxdUser == "gofax" &&
				len(w.AdminTokens) == 1 && w.AdminTokens[0].Name == "ops" && w.AdminTokens[0].SHA256 == sha256.Sum256([]byte("abc"))
		}, ""},
		{"everything", "[web]\nlisten = [::1]:9000\ntlscert = /etc/c.pem\ntlskey = k.pem\nadmintoken = a:" + abcHash +
			"\nadmintoken = b.c@d:" + strings.ToUpper(abcHash) + "\nmaxbody = 64K\nmaxupload = 1GiB\nmaxpages = 10\nratelimit = 0.5\nrateburst = 3\n" +
			"uploaddir = /srv/up\npdfinfo = /usr/bin/pdfinfo\nhfaxdhost = fax.example.com\nhfaxdport = 4560\nhfaxduser = api\n" +
			"hfaxdpassword = \"pw with blank\"\nhfaxdadminpassword = adm\n", func(c *Config) bool {
			w := c.Web
			return w.Listen == "[::1]:9000" && w.TLSCert == "/etc/c.pem" && w.TLSKey == "k.pem" && len(w.AdminTokens) == 2 &&
				w.AdminTokens[1].Name == "b.c@d" && w.AdminTokens[1].SHA256 == w.AdminTokens[0].SHA256 && w.MaxBody == 64<<10 &&
				w.MaxUpload == 1<<30 && w.MaxPages == 10 && w.RateLimit == 0.5 && w.RateBurst == 3 && w.UploadDir == "/srv/up" &&
				w.PDFInfo == "/usr/bin/pdfinfo" && w.HfaxdHost == "fax.example.com" && w.HfaxdPort == 4560 && w.HfaxdUser == "api" &&
				w.HfaxdPassword == "pw with blank" && w.HfaxdAdminPassword == "adm"
		}, ""},
		{"ratelimit off", "[web]\nadmintoken = a:" + abcHash + "\nratelimit = 0\nrateburst = 0\n", func(c *Config) bool {
			return c.Web.RateLimit == 0
		}, ""},
		{"no admin token warns", "[web]\n", func(c *Config) bool { return len(c.Web.AdminTokens) == 0 },
			"t.conf:4: [web] admintoken: none: tenants, numbers and users cannot be administered"},
		{"public without TLS warns", "[web]\nadmintoken = a:" + abcHash + "\nlisten = 0.0.0.0:8417\n", nil,
			`t.conf:6: [web] listen: "0.0.0.0:8417" is reachable from other machines without tlscert/tlskey`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.conf", []byte("[freeswitch]\ngateway = gw\n[database]\n"+tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("unexpected config:\n%s", dump(c))
			}
			switch {
			case tt.warn == "" && len(warns) > 0:
				t.Errorf("warnings %q", warns)
			case tt.warn != "" && (len(warns) != 1 || !strings.Contains(warns[0], tt.warn)):
				t.Errorf("warnings %q, want one with %q", warns, tt.warn)
			}
		})
	}
}

func TestWebErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"without database", "[freeswitch]\ngateway = gw\n[web]\n", "config: bad.conf:3: [web]: invalid setting: the REST API needs the tenant database: add a [database] section (or remove [web])"},
		{"bad listen", "[database]\n[web]\nlisten = 8417\n", `config: bad.conf:3: [web] listen: invalid setting: "8417" is not a host:port address`},
		{"empty listen", "[database]\n[web]\nlisten =\n", `config: bad.conf:3: [web] listen: invalid setting: empty address (use host:port, e.g. 127.0.0.1:8417)`},
		{"cert without key", "[database]\n[web]\ntlscert = c.pem\n", "config: bad.conf:2: [web] tlskey: invalid setting: empty: give both tlscert and tlskey for HTTPS, or neither"},
		{"key without cert", "[database]\n[web]\ntlskey = k.pem\n", "config: bad.conf:2: [web] tlscert: invalid setting: empty: give both tlscert and tlskey for HTTPS, or neither"},
		{"plain token", "[database]\n[web]\nadmintoken = secret\n", `config: bad.conf:3: [web] admintoken: invalid setting: "secret": write <name>:<SHA-256 of the token in hex> (printf %s "$TOKEN" | sha256sum)`},
		{"short hash", "[database]\n[web]\nadmintoken = a:abc\n", `config: bad.conf:3: [web] admintoken: invalid setting: "a:abc": write <name>:<SHA-256 of the token in hex> (printf %s "$TOKEN" | sha256sum)`},
		{"twice", "[database]\n[web]\nadmintoken = a:" + abcHash + "\nadmintoken = a:" + abcHash + "\n", `config: bad.conf:3: [web] admintoken: invalid setting: name "a" is given twice`},
		{"bad size", "[database]\n[web]\nmaxbody = lots\n", `config: bad.conf:3: [web] maxbody: invalid setting: "lots" is not a size (e.g. 1048576, 512K, 50M, 1G)`},
		{"tiny body", "[database]\n[web]\nmaxbody = 10\n", "config: bad.conf:3: [web] maxbody: invalid setting: 10 bytes: 1024 to 67108864"},
		{"huge upload", "[database]\n[web]\nmaxupload = 2G\n", "config: bad.conf:3: [web] maxupload: invalid setting: 2147483648 bytes: 1024 to 1073741824"},
		{"no pages", "[database]\n[web]\nmaxpages = 0\n", "config: bad.conf:3: [web] maxpages: invalid setting: 0: 1 to 10000"},
		{"bad rate", "[database]\n[web]\nratelimit = fast\n", `config: bad.conf:3: [web] ratelimit: invalid setting: "fast" is not a rate in requests per second (0 = no limit, e.g. 20 or 0.5)`},
		{"no burst", "[database]\n[web]\nrateburst = 0\n", "config: bad.conf:3: [web] rateburst: invalid setting: 0: at least 1 when ratelimit is set"},
		{"no upload dir", "[database]\n[web]\nuploaddir =\n", "config: bad.conf:3: [web] uploaddir: invalid setting: empty: submitted documents wait there for hfaxd"},
		{"bad hfaxd port", "[database]\n[web]\nhfaxdport = 0\n", "config: bad.conf:3: [web] hfaxdport: invalid setting: 0 is not a TCP port"},
		{"hfaxd user blank", "[database]\n[web]\nhfaxduser = \"a b\"\n", `config: bad.conf:3: [web] hfaxduser: invalid setting: "a b": a user name without blanks or control characters`},
		{"hfaxd password CR", "[database]\n[web]\nhfaxdpassword = \"a\\tb\"\n", "config: bad.conf:3: [web] hfaxdpassword: invalid setting: control characters are not allowed"},
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
				t.Error("error does not wrap ErrInvalid")
			}
		})
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1k": 1024, "2K": 2048, "50M": 50 << 20, "50MB": 50 << 20,
		"50MiB": 50 << 20, "1G": 1 << 30, " 3 m ": 3 << 20} {
		cv := &converter{}
		if got := cv.size("web", "maxbody", in); got != want || cv.err != nil {
			t.Errorf("size(%q) = %d, %v; want %d", in, got, cv.err, want)
		}
	}
	for _, in := range []string{"", "-1", "1T", "1.5M", "M", "99999999999999999999"} {
		cv := &converter{}
		if cv.size("web", "maxbody", in); cv.err == nil {
			t.Errorf("size(%q) accepted", in)
		}
	}
}

// TestSampleWebSection uncomments the sample's [web] section: it loads,
// and every value it shows is the default except the examples of tlscert,
// tlskey and admintoken.
func TestSampleWebSection(t *testing.T) {
	src, err := os.ReadFile("../../config/gofax.conf")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), "\n;[web]\n")
	if i < 0 {
		t.Fatal("no ;[web] in the sample")
	}
	var b strings.Builder
	b.WriteString("[freeswitch]\ngateway = gw\n[database]\n")
	for _, l := range strings.Split(string(src[i+1:]), "\n") {
		if l == ";[web]" || regexp.MustCompile(`^;[a-z]+ = `).MatchString(l) {
			l = l[1:]
		}
		b.WriteString(l + "\n")
	}
	c, warns, err := Parse("sample-web.conf", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	def, _, err := Parse("defaults.conf", []byte("[freeswitch]\ngateway = gw\n[database]\n[web]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.Web, def.Web
	if got.TLSCert == "" || got.TLSKey == "" || len(got.AdminTokens) != 1 {
		t.Errorf("the sample's examples: %+v", got)
	}
	got.TLSCert, got.TLSKey, got.AdminTokens = "", "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the sample shows other values than the defaults:\n got %+v\nwant %+v", got, want)
	}
}
