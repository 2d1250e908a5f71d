package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Web is the [web] section: the REST API served by gofaxd. Without the
// section (Enabled false) no API is served. It needs [database].
type Web struct {
	Enabled bool // the file has a [web] section

	Listen string // listen: host:port (127.0.0.1:8417)
	// TLSCert and TLSKey are PEM files (spool-relative unless absolute);
	// both set = HTTPS, both empty = plain HTTP.
	TLSCert string // tlscert
	TLSKey  string // tlskey
	// AdminTokens are the operator's bearer tokens, kept as SHA-256
	// hashes only (admintoken = <name>:<hex SHA-256 of the token>).
	AdminTokens []AdminToken
	MaxBody     int64 // maxbody: largest JSON request body in bytes (1M)
	MaxUpload   int64 // maxupload: largest fax submission (all documents) in bytes (50M)
	MaxPages    int   // maxpages: most pages of one submitted fax (500)
	// RateLimit is the sustained requests per second per credential
	// (0 = no limit); RateBurst how many may come at once.
	RateLimit float64 // ratelimit (20)
	RateBurst int     // rateburst (40)
	// UploadDir holds submitted documents until hfaxd has them
	// (spool-relative unless absolute).
	UploadDir string // uploaddir (tmp/gofax-api)
	// PDFInfo is the program that checks submitted PDFs and counts their
	// pages (poppler's pdfinfo).
	PDFInfo string // pdfinfo (pdfinfo)
	// The hfaxd account faxes are submitted with (an administrator, so
	// that it may set each job's owner).
	HfaxdHost          string // hfaxdhost (127.0.0.1)
	HfaxdPort          int    // hfaxdport (4559)
	HfaxdUser          string // hfaxduser (gofax)
	HfaxdPassword      string // hfaxdpassword
	HfaxdAdminPassword string // hfaxdadminpassword
}

// AdminToken is one operator credential of the REST API: a name (it
// appears in the audit log) and the SHA-256 of the token itself.
type AdminToken struct {
	Name   string
	SHA256 [sha256.Size]byte
}

// Limits of [web] values.
const (
	MinBody   = 1 << 10 // a JSON body smaller than 1 KiB cannot carry an endpoint
	MaxBody   = 64 << 20
	MinUpload = 1 << 10
	MaxUpload = 1 << 30 // the TIFF reader's limit (faxdoc.MaxFileSize)
	MaxPages  = 10000   // faxdoc.MaxPages
)

var (
	tokenNameRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)
	hexHashRe   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	sizeRe      = regexp.MustCompile(`^([0-9]+)\s*([kKmMgG]?)(i?[bB])?$`)
)

// size accepts a number of bytes with an optional binary suffix: "1048576",
// "512K", "50M", "1G" (also "50MB", "50MiB"; all mean powers of 1024).
func (cv *converter) size(sect, key, v string) int64 {
	v = strings.TrimSpace(v)
	m := sizeRe.FindStringSubmatch(v)
	var n uint64
	var err error
	if m != nil {
		n, err = strconv.ParseUint(m[1], 10, 40)
	}
	if m == nil || err != nil {
		cv.fail(sect, key, "%q is not a size (e.g. 1048576, 512K, 50M, 1G)", v)
		return 0
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(m[2])]
	return int64(n << shift)
}

func (cv *converter) rate(sect, key, v string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1e6 {
		cv.fail(sect, key, "%q is not a rate in requests per second (0 = no limit, e.g. 20 or 0.5)", v)
		return 0
	}
	return f
}

// adminTokens parses "name:hexsha256" values.
func (cv *converter) adminTokens(vals []string) []AdminToken {
	var out []AdminToken
	seen := map[string]bool{}
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		name, sum, ok := strings.Cut(v, ":")
		if !ok || !tokenNameRe.MatchString(name) || !hexHashRe.MatchString(sum) {
			cv.fail("web", "admintoken", "%q: write <name>:<SHA-256 of the token in hex> (printf %%s \"$TOKEN\" | sha256sum)", clipValue(v))
			return nil
		}
		if seen[name] {
			cv.fail("web", "admintoken", "name %q is given twice", name)
			return nil
		}
		seen[name] = true
		t := AdminToken{Name: name}
		hex.Decode(t.SHA256[:], []byte(sum))
		out = append(out, t)
	}
	return out
}

func clipValue(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (c *Config) checkWeb(cv *converter) {
	w := &c.Web
	if !c.Database.Enabled {
		e := cv.at("web", "")
		if cv.err == nil {
			e.Err = fmt.Errorf("%w: the REST API needs the tenant database: add a [database] section (or remove [web])", ErrInvalid)
			cv.err = e
		}
		return
	}
	if w.Listen == "" {
		cv.fail("web", "listen", "empty address (use host:port, e.g. 127.0.0.1:8417)")
	} else if host, port, err := net.SplitHostPort(w.Listen); err != nil || port == "" {
		cv.fail("web", "listen", "%q is not a host:port address", w.Listen)
	} else if w.TLSCert == "" && !loopback(host) {
		cv.warn("web", "listen", "%q is reachable from other machines without tlscert/tlskey: passwords and API keys cross the network in clear text", w.Listen)
	}
	if (w.TLSCert == "") != (w.TLSKey == "") {
		key := "tlskey"
		if w.TLSCert == "" {
			key = "tlscert"
		}
		cv.fail("web", key, "empty: give both tlscert and tlskey for HTTPS, or neither")
	}
	if len(w.AdminTokens) == 0 {
		cv.warn("web", "admintoken", "none: tenants, numbers and users cannot be administered over the API")
	}
	if w.MaxBody < MinBody || w.MaxBody > MaxBody {
		cv.fail("web", "maxbody", "%d bytes: %d to %d", w.MaxBody, MinBody, MaxBody)
	}
	if w.MaxUpload < MinUpload || w.MaxUpload > MaxUpload {
		cv.fail("web", "maxupload", "%d bytes: %d to %d", w.MaxUpload, MinUpload, MaxUpload)
	}
	if w.MaxPages < 1 || w.MaxPages > MaxPages {
		cv.fail("web", "maxpages", "%d: 1 to %d", w.MaxPages, MaxPages)
	}
	if w.RateLimit > 0 && w.RateBurst < 1 {
		cv.fail("web", "rateburst", "%d: at least 1 when ratelimit is set", w.RateBurst)
	}
	if w.UploadDir == "" {
		cv.fail("web", "uploaddir", "empty: submitted documents wait there for hfaxd")
	}
	if w.PDFInfo == "" || strings.ContainsAny(w.PDFInfo, "\x00\r\n") {
		cv.fail("web", "pdfinfo", "%q: the pdfinfo program (poppler-utils) that checks submitted PDFs", w.PDFInfo)
	}
	if w.HfaxdHost == "" || strings.ContainsAny(w.HfaxdHost, " \t\r\n/") {
		cv.fail("web", "hfaxdhost", "%q: a host name or address", w.HfaxdHost)
	}
	if w.HfaxdPort < 1 || w.HfaxdPort > 65535 {
		cv.fail("web", "hfaxdport", "%d is not a TCP port", w.HfaxdPort)
	}
	// These go into hfaxd protocol lines (USER, PASS, ADMIN).
	if w.HfaxdUser == "" || strings.IndexFunc(w.HfaxdUser, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		cv.fail("web", "hfaxduser", "%q: a user name without blanks or control characters", w.HfaxdUser)
	}
	for _, p := range []struct{ key, v string }{{"hfaxdpassword", w.HfaxdPassword}, {"hfaxdadminpassword", w.HfaxdAdminPassword}} {
		if strings.IndexFunc(p.v, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
			cv.fail("web", p.key, "control characters are not allowed")
		}
	}
}

// loopback reports whether host (of a listen address) is reachable only
// from this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
