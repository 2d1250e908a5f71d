package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/call"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// settings is everything the call of one job depends on.
type settings struct {
	number   string // dialled: call prefix + number, formatting removed
	key      string // softmodem fallback key of the number (without prefix)
	gateways []string
	cidNum   string
	cidName  string
	tsi      string
	header   string
	ecm      bool
	v17      bool
	t38      bool
	t38Req   bool
	verbose  bool
	extra    freeswitch.Vars // mod_db overrides
}

// vars returns the dial string variables for a call with uuid.
func (s settings) vars(uuid string, ring time.Duration) freeswitch.Vars {
	v := func(name, value string) freeswitch.Var { return freeswitch.Var{Name: name, Value: value} }
	vs := freeswitch.Vars{
		v("ignore_early_media", "true"),
		v("origination_uuid", uuid),
		v("originate_timeout", strconv.Itoa(int(math.Ceil(ring.Seconds())))),
		v("origination_caller_id_number", s.cidNum),
		v("origination_caller_id_name", s.cidName),
		v("fax_ident", s.tsi),
		v("fax_header", s.header),
		v("fax_use_ecm", strconv.FormatBool(s.ecm)),
		v("fax_disable_v17", strconv.FormatBool(!s.v17)),
		v("fax_enable_t38", strconv.FormatBool(s.t38)),
		v("fax_enable_t38_request", strconv.FormatBool(s.t38Req)),
		v("fax_verbose", strconv.FormatBool(s.verbose)),
	}
	for _, o := range s.extra {
		vs.Set(o.Name, o.Value)
	}
	return vs
}

// settings works the job's call out from, in rising priority: the
// configuration, JobControl pairs, the qfile's per-job fields and the
// DynamicConfig script. ok is false with res the result when the job
// must not be called.
func (a *attempt) settings(ctx context.Context, number string) (s settings, res outcome.Result, ok bool) {
	q, cfg, ctl := a.q, a.b.Config, a.b.Controls
	s = settings{
		gateways: cfg.FreeSWITCH.Gateways,
		cidNum:   cfg.Gofaxsend.FaxNumber,
		tsi:      cfg.FreeSWITCH.Ident,
		header:   cfg.FreeSWITCH.Header,
		ecm:      !cfg.Gofaxsend.DisableECM,
		v17:      !cfg.Gofaxsend.DisableV17,
		t38:      cfg.Gofaxsend.EnableT38,
		t38Req:   cfg.Gofaxsend.RequestT38,
		verbose:  cfg.FreeSWITCH.Verbose,
	}
	prefix := cfg.Gofaxsend.CallPrefix
	pick := func(dst *string, vals ...string) {
		for _, v := range vals {
			if v != "" {
				*dst = v
			}
		}
	}
	pick(&s.tsi, ctl["localidentifier"], q.String("tsi"))
	pick(&s.cidNum, ctl["faxnumber"], q.String("faxnumber"))
	pick(&s.header, ctl["tagline"])
	if tl := q.String("tagline"); tl != "" && !strings.Contains(tl, "%") {
		pick(&s.header, tl) // a HylaFAX TagLineFormat with % escapes means nothing to spandsp
	}

	// Per-job session wishes (sendfax -B, -E, minimum rate).
	if v, present := q.Get("desiredbr"); present && strings.TrimSpace(v) != "" && q.Int("desiredbr") < 5 {
		s.v17 = false // below 14400 bit/s: at most V.29 9600
	}
	if ec, ok := q.Digit("desiredec"); ok {
		s.ecm = s.ecm && ec != 0
	}
	tries := q.Int("tottries")
	if n := cfg.Gofaxsend.DisableV17AfterRetry; n > 0 && tries >= n && q.Int("minbr") < 4 {
		s.v17 = false
	}
	if n := cfg.Gofaxsend.DisableECMAfterRetry; n > 0 && tries >= n {
		s.ecm = false
	}

	if cfg.Gofaxsend.DynamicConfig != "" {
		vals, err := a.dynamicConfig(ctx)
		if err != nil {
			a.sess.Printf("DynamicConfig: %v", err)
			return s, outcome.Local(outcome.CodeScript, "Error calling DynamicConfig: %v", err), false
		}
		if vals.Bool("rejectcall") {
			a.sess.Printf("Transmission rejected by DynamicConfig")
			return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeRejected, Text: "Transmission rejected by DynamicConfig"}, false
		}
		get := func(k string) string { v, _ := vals.Get(k); return v }
		pick(&s.tsi, get("localidentifier"))
		pick(&s.header, get("tagline"))
		pick(&s.cidNum, get("faxnumber"))
		if v, ok := vals.Get("callprefix"); ok {
			prefix = v
		}
		if gw := get("gateway"); gw != "" {
			s.gateways = nil
			for _, g := range strings.Split(gw, ",") {
				if g = strings.TrimSpace(g); g != "" {
					s.gateways = append(s.gateways, g)
				}
			}
		}
	}
	dial, numErr := freeswitch.CleanNumber(prefix + number)
	s.number = dial
	if k, err := cfgNumbering(cfg).Key(number); err == nil {
		s.key = k
	}

	switch strings.ToLower(cfg.Gofaxsend.CIDName) {
	case "sender":
		s.cidName = q.String("sender")
	case "number":
		s.cidName = q.String("number")
	case "cidnum":
		s.cidName = s.cidNum
	default:
		s.cidName = cfg.Gofaxsend.CIDName
	}
	s.tsi, s.header, s.cidName = freeswitch.SafeValue(s.tsi), freeswitch.SafeValue(s.header), freeswitch.SafeValue(s.cidName)
	s.cidNum = freeswitch.SafeValue(s.cidNum)

	switch {
	case number == "":
		return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: "Number to dial is empty"}, false
	case len(s.gateways) == 0:
		return s, outcome.Local(outcome.CodeNoLine, "No gateway configured ([freeswitch] gateway)"), false
	}
	if numErr != nil {
		return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: fmt.Sprintf("Cannot dial %q: not a phone number", prefix+number)}, false
	}
	for _, gw := range s.gateways {
		if err := freeswitch.CheckGateway(gw); err != nil {
			return s, outcome.Local(outcome.CodeNoLine, "Gateway %q cannot be used: %v", gw, err), false
		}
	}
	return s, outcome.Result{}, true
}

// dynamicConfig runs [gofaxsend] dynamicconfig with GOfax.IP's arguments
// (modem, owner, number, jobid) in the spool, bounded by its timeout.
func (a *attempt) dynamicConfig(ctx context.Context) (hook.Values, error) {
	cfg := a.b.Config
	q := a.q
	cmd, err := hook.Command(cfg.Gofaxsend.DynamicConfig, a.b.spool, a.b.Modem, q.String("owner"), q.String("number"), a.jobid)
	if err != nil {
		return nil, err
	}
	cmd.Timeout = cfg.Gofaxsend.DynamicConfigTimeout
	res, err := hook.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	vals := hook.ParseConfigOutput(res.Stdout)
	a.log.Info("DynamicConfig", "values", len(vals), "duration", res.Duration)
	return vals, nil
}

// prepared subscribes a new connection to the call events once.
func (b *batch) prepared(ctx context.Context, conn *esl.Conn) error {
	if b.subscribed == conn {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, b.Config.FreeSWITCH.Timeout)
	defer cancel()
	if err := call.Prepare(cctx, conn); err != nil {
		return err
	}
	b.subscribed = conn
	return nil
}

// modDB applies the softmodem fallback and the per-destination overrides
// kept in FreeSWITCH's mod_db. Lookup trouble is logged and skipped: the
// call works without them.
func (a *attempt) modDB(ctx context.Context, conn *esl.Conn, s *settings) {
	cfg := a.b.Config
	dctx, cancel := context.WithTimeout(ctx, cfg.FreeSWITCH.Timeout)
	defer cancel()
	db := freeswitch.DB{API: conn}
	if cfg.FreeSWITCH.SoftmodemFallback && s.key != "" {
		on, err := a.b.fallback(db).Active(dctx, freeswitch.Outbound, s.key)
		switch {
		case err != nil:
			a.log.Warn("mod_db fallback lookup", "err", err)
		case on:
			a.log.Info("softmodem fallback active", "key", s.key)
			a.sess.Printf("Softmodem fallback for %s: T.38 off", s.key)
			s.t38, s.t38Req = false, false
		}
	}
	vars, rejected, err := db.Overrides(dctx, s.number)
	if err != nil && !errors.Is(err, freeswitch.ErrNotFound) {
		a.log.Warn("mod_db overrides", "err", err)
	}
	for _, r := range rejected {
		a.log.Warn("mod_db override refused", "override", r)
		a.sess.Printf("Override refused: %s", r)
	}
	for _, v := range vars {
		a.log.Info("overriding dial string variable", "variable", v.Name, "value", v.Value)
		a.sess.Printf("Override %s=%s", v.Name, v.Value)
	}
	s.extra = vars
}

// fallback is the softmodem fallback list in db.
func (b *batch) fallback(db freeswitch.DB) freeswitch.Fallback {
	fs := b.Config.FreeSWITCH
	return freeswitch.Fallback{DB: db, TTL: fs.FallbackTTL, Max: fs.FallbackMax, Shared: fs.FallbackShared, Now: b.Now}
}

// cfgNumbering is how fallback keys are normalised ([freeswitch]
// countrycode, internationalprefix, nationalprefix), shared with gofaxd.
func cfgNumbering(cfg *config.Config) freeswitch.Numbering {
	return freeswitch.Numbering{
		CountryCode:         cfg.FreeSWITCH.CountryCode,
		InternationalPrefix: cfg.FreeSWITCH.InternationalPrefix,
		NationalPrefix:      cfg.FreeSWITCH.NationalPrefix,
	}
}
