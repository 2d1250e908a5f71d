package api

import "github.com/gofaxserver/gofaxserver/gofaxlib/config"

// ConfigOptions returns the Options that c's [web] section (and the number
// plan of [freeswitch]) ask for; relative paths are resolved against the
// spool. Store, Submitter and Logger are the caller's to add.
func ConfigOptions(c *config.Config) Options {
	w := c.Web
	o := Options{
		Plan:      c.NumberPlan(),
		Addr:      w.Listen,
		TLSCert:   c.SpoolPath(w.TLSCert),
		TLSKey:    c.SpoolPath(w.TLSKey),
		MaxBody:   w.MaxBody,
		MaxUpload: w.MaxUpload,
		MaxPages:  w.MaxPages,
		RateLimit: w.RateLimit,
		RateBurst: w.RateBurst,
		UploadDir: c.SpoolPath(w.UploadDir),
		PDFInfo:   w.PDFInfo,
		Spool:     c.HylaFAX.SpoolDir,
		// hfaxd's logins (Debian binds /etc/hylafax there) and the
		// account the API submits with are no tenant user's names.
		HostsHfaxd:        c.SpoolPath("etc/hosts.hfaxd"),
		ReservedUsernames: []string{w.HfaxdUser},
		// gofaxd's archive: documents are served from there only.
		ArchiveDir:  c.SpoolPath(c.Database.Archive),
		FallbackTTL: c.FreeSWITCH.FallbackTTL,
	}
	for _, t := range w.AdminTokens {
		o.AdminTokens = append(o.AdminTokens, AdminToken{Name: t.Name, SHA256: t.SHA256})
	}
	return o
}
