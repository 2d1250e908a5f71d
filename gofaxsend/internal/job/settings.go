package job

import (
	"cmp"
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
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// settings is everything the call of one job depends on.
type settings struct {
	number  string  // dialled through the first route: the mod_db override key
	key     string  // softmodem fallback key of the number (without prefix)
	routes  []route // the gateways, tried in order
	cidNum  string
	cidName string
	tsi     string
	header  string
	ecm     bool
	v17     bool
	t38     bool
	t38Req  bool
	verbose bool
	extra   freeswitch.Vars // mod_db overrides

	sender *sender // the tenant's user and number; nil for jobs without a tenant
	to     string  // the destination as E.164 where it normalises, else as given
}

// vars returns the dial string variables for a call with uuid through rt.
func (s settings) vars(uuid string, ring time.Duration, rt route) freeswitch.Vars {
	v := func(name, value string) freeswitch.Var { return freeswitch.Var{Name: name, Value: value} }
	vs := freeswitch.Vars{
		v("ignore_early_media", "true"),
		v("origination_uuid", uuid),
		v("originate_timeout", strconv.Itoa(int(math.Ceil(ring.Seconds())))),
		v("origination_caller_id_number", rt.cidNum),
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

// numberSources are the candidates for the caller ID number of a call.
type numberSources struct {
	DynamicConfig string // FAXNumber printed by [gofaxsend] dynamicconfig
	JobControl    string // FAXNumber from faxq's JobControl (-c)
	Job           string // the qfile's faxnumber, which the job's owner sets
	Default       string // [gofaxsend] faxnumber
}

// callingNumber returns the caller ID number: the administrator's
// choices (DynamicConfig, then JobControl) beat the job's own faxnumber,
// which beats the configured default. The first one set wins.
func callingNumber(s numberSources) string {
	return cmp.Or(s.DynamicConfig, s.JobControl, s.Job, s.Default)
}

// tsiSources are the candidates for the station identifier (TSI).
type tsiSources struct {
	DynamicConfig string // LocalIdentifier printed by [gofaxsend] dynamicconfig
	Job           string // the qfile's tsi (sendfax), which the job's owner sets
	UseJobTSI     bool   // HylaFAX's UseJobTSI: the job's tsi may be used
	JobControl    string // LocalIdentifier from faxq's JobControl (-c)
	Default       string // [freeswitch] ident
}

// stationID returns the TSI as faxsend chooses it: LocalIdentifier from
// JobControl over the configured one, replaced by the job's tsi only when
// UseJobTSI allows it; DynamicConfig beats them all.
func stationID(s tsiSources) string {
	job := ""
	if s.UseJobTSI {
		job = s.Job
	}
	return cmp.Or(s.DynamicConfig, job, s.JobControl, s.Default)
}

// settings works the job's call out from the configuration, JobControl
// pairs, the qfile's per-job fields, the DynamicConfig script and, for a
// job whose owner is a tenant's user, the routing snapshot (see
// callingNumber, tenantSender and stationID for who wins). ok is false
// with res the result when the job must not be called.
func (a *attempt) settings(ctx context.Context, number string) (s settings, res outcome.Result, ok bool) {
	q, cfg, ctl := a.q, a.b.Config, a.b.Controls
	var dyn hook.Values
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
		dyn = vals
	}
	get := func(k string) string { v, _ := dyn.Get(k); return v }
	numbers := numberSources{
		DynamicConfig: get("faxnumber"), JobControl: ctl["faxnumber"], Job: q.String("faxnumber"), Default: cfg.Gofaxsend.FaxNumber,
	}
	tsis := tsiSources{
		DynamicConfig: get("localidentifier"), Job: q.String("tsi"), UseJobTSI: a.b.conf.useJobTSI,
		JobControl: ctl["localidentifier"], Default: cfg.FreeSWITCH.Ident,
	}
	s = settings{
		cidNum:  callingNumber(numbers),
		header:  cfg.FreeSWITCH.Header,
		ecm:     !cfg.Gofaxsend.DisableECM,
		v17:     !cfg.Gofaxsend.DisableV17,
		t38:     cfg.Gofaxsend.EnableT38,
		t38Req:  cfg.Gofaxsend.RequestT38,
		verbose: cfg.FreeSWITCH.Verbose,
	}
	plan := cfg.NumberPlan()
	if cfg.Database.Enabled {
		if a.b.routingErr != nil {
			a.sess.Printf("%v", a.b.routingErr)
			return s, outcome.Local(outcome.CodeUnknown, "%v; gofaxd writes it once it has the tenant data ([database]): retried later", a.b.routingErr), false
		}
		snd, res, ok := tenantSender(a.b.routing, plan, q.String("owner"), numbers)
		if !ok {
			a.sess.Printf("%s", res.Text)
			return s, res, false
		}
		s.sender = snd
	}
	if snd := s.sender; snd != nil {
		// The tenant's number is the station: its TSI, header and
		// caller ID name where nothing set by the administrator or
		// allowed for the job replaces them.
		s.cidNum = snd.number.Number
		tsis.Default = cmp.Or(snd.number.Ident, snd.number.Number)
		s.header = cmp.Or(snd.number.Header, s.header)
		a.sess.Printf("Tenant %q, user %q, calling number %s (%s)", snd.tenant.Name, snd.user.Username, snd.number.Number, snd.source)
	}
	s.tsi = stationID(tsis)
	prefix := cfg.Gofaxsend.CallPrefix
	// The page header: JobControl, the job's tagline (HylaFAX's
	// UseJobTagLine is yes by default), DynamicConfig.
	if tl := ctl["tagline"]; tl != "" {
		s.header = tl
	}
	if tl := q.String("tagline"); tl != "" && !strings.Contains(tl, "%") {
		s.header = tl // a HylaFAX TagLineFormat with % escapes means nothing to spandsp
	}
	if tl := get("tagline"); tl != "" {
		s.header = tl
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

	if v, ok := dyn.Get("callprefix"); ok {
		prefix = v
	}
	gateways := cfg.FreeSWITCH.Gateways
	dynGateways := false
	if gw := get("gateway"); gw != "" {
		gateways, dynGateways = nil, true
		for _, g := range strings.Split(gw, ",") {
			if g = strings.TrimSpace(g); g != "" {
				gateways = append(gateways, g)
			}
		}
	}
	dial, numErr := freeswitch.CleanNumber(prefix + number)
	if k, err := cfgNumbering(cfg).Key(number); err == nil {
		s.key = k
	}

	cidName := ""
	switch strings.ToLower(cfg.Gofaxsend.CIDName) {
	case "sender":
		cidName = q.String("sender")
	case "number":
		cidName = q.String("number")
	case "cidnum":
		cidName = s.cidNum
	default:
		cidName = cfg.Gofaxsend.CIDName
	}
	if s.sender != nil {
		cidName = cmp.Or(s.sender.number.CallerIDName, cidName)
	}
	s.tsi, s.header, s.cidName = freeswitch.SafeValue(s.tsi), freeswitch.SafeValue(s.header), freeswitch.SafeValue(cidName)
	s.cidNum = freeswitch.SafeValue(s.cidNum)
	s.to = record.E164OrRaw(plan, number)

	if number == "" {
		return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: "Number to dial is empty"}, false
	}
	if s.sender != nil {
		// A tenant's fax goes to a number E.164 can express: that is
		// how it is recorded, and how gateway endpoints dial.
		e, err := plan.E164(number)
		if err != nil {
			return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: fmt.Sprintf("Cannot send to %q: %v", number, err)}, false
		}
		if !dynGateways {
			if eps := a.b.routing.Gateways(s.sender.number); len(eps) > 0 {
				routes, res, ok := endpointRoutes(plan, eps, e, s.sender.number.Number)
				if !ok {
					a.sess.Printf("%s", res.Text)
					return s, res, false
				}
				s.routes = routes
			}
		}
	}
	if s.routes == nil {
		// DynamicConfig's or [freeswitch] gateways: the number as HylaFAX
		// gives it, with the call prefix.
		switch {
		case len(gateways) == 0:
			return s, outcome.Local(outcome.CodeNoLine, "No gateway configured ([freeswitch] gateway)"), false
		case numErr != nil:
			return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: fmt.Sprintf("Cannot dial %q: not a phone number", prefix+number)}, false
		}
		for _, gw := range gateways {
			s.routes = append(s.routes, route{gateway: gw, number: dial, cidNum: s.cidNum})
		}
	}
	for _, rt := range s.routes {
		if err := freeswitch.CheckGateway(rt.gateway); err != nil {
			return s, outcome.Local(outcome.CodeNoLine, "Gateway %q cannot be used: %v", rt.gateway, err), false
		}
	}
	s.number = s.routes[0].number
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

// cfgNumbering is how fallback keys are normalised: the one number plan
// ([freeswitch] countrycode, internationalprefix, nationalprefix,
// nationallength), shared with gofaxd.
func cfgNumbering(cfg *config.Config) freeswitch.Numbering {
	return freeswitch.Numbering(cfg.NumberPlan())
}
