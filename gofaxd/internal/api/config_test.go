package api

import (
	"crypto/sha256"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

func TestConfigOptions(t *testing.T) {
	c, _, err := config.Parse("t.conf", []byte("[freeswitch]\ngateway = gw\ncountrycode = 49\n[hylafax]\nspooldir = /srv/fax\n"+
		"[database]\n[web]\nlisten = 127.0.0.1:9000\ntlscert = tls/api.crt\ntlskey = /etc/api.key\n"+
		"admintoken = ops:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nmaxbody = 64K\nratelimit = 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := ConfigOptions(c)
	if o.Addr != "127.0.0.1:9000" || o.TLSCert != "/srv/fax/tls/api.crt" || o.TLSKey != "/etc/api.key" ||
		o.UploadDir != "/srv/fax/tmp/gofax-api" || o.MaxBody != 64<<10 || o.MaxUpload != 50<<20 || o.MaxPages != 500 ||
		o.RateLimit != 5 || o.RateBurst != 40 || o.PDFInfo != "pdfinfo" || o.Plan.CountryCode != "49" ||
		len(o.AdminTokens) != 1 || o.AdminTokens[0].Name != "ops" || o.AdminTokens[0].SHA256 != sha256.Sum256([]byte("abc")) {
		t.Errorf("options %+v", o)
	}
	// pdfinfo runs in the spool; hfaxd's logins and account are no
	// tenant user's names.
	if o.Spool != "/srv/fax" || o.HostsHfaxd != "/srv/fax/etc/hosts.hfaxd" || len(o.ReservedUsernames) != 1 ||
		o.ReservedUsernames[0] != "gofax" {
		t.Errorf("spool %q, hosts.hfaxd %q, reserved %q", o.Spool, o.HostsHfaxd, o.ReservedUsernames)
	}
	// Without TLS the paths stay empty.
	c, _, err = config.Parse("t.conf", []byte("[database]\n[web]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := ConfigOptions(c); o.TLSCert != "" || o.TLSKey != "" {
		t.Errorf("TLS paths %q %q", o.TLSCert, o.TLSKey)
	}
}
