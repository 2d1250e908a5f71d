package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/call"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// mod_db realms shared with GOfax.IP: per-destination dial string
// overrides ("db insert/override-<number>/<variable>/<value>") and the
// numbers that need the softmodem instead of T.38.
const (
	overrideRealm = "override-"
	fallbackRealm = "fallback"
)

// protectedVars cannot be overridden from mod_db: gofaxsend follows the
// call by its uuid.
var protectedVars = map[string]bool{"origination_uuid": true}

// settings is everything the call of one job depends on.
type settings struct {
	number   string // dialled: call prefix + number
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
	extra    []call.Var // mod_db overrides
}

// vars returns the dial string variables for a call with uuid.
func (s settings) vars(uuid string, ring time.Duration) []call.Var {
	v := func(name, value string) call.Var { return call.Var{Name: name, Value: value} }
	vs := []call.Var{
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
		replaced := false
		for i := range vs {
			if vs[i].Name == o.Name {
				vs[i].Value, replaced = o.Value, true
			}
		}
		if !replaced {
			vs = append(vs, o)
		}
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
	s.number = prefix + number

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
	s.tsi, s.header, s.cidName = call.Sanitize(s.tsi), call.Sanitize(s.header), call.Sanitize(s.cidName)

	switch {
	case number == "":
		return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: "Number to dial is empty"}, false
	case len(s.gateways) == 0:
		return s, outcome.Local(outcome.CodeNoLine, "No gateway configured ([freeswitch] gateway)"), false
	}
	if _, err := call.Originate(nil, "x", s.number, "x"); err != nil {
		return s, outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: fmt.Sprintf("Cannot dial %q: not a phone number", s.number)}, false
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
	api := func(cmd string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, cfg.FreeSWITCH.Timeout)
		defer cancel()
		return conn.API(cctx, cmd)
	}
	if cfg.FreeSWITCH.SoftmodemFallback {
		if since, ok := a.fallbackSince(api, s.number); ok {
			a.log.Info("softmodem fallback active", "number", s.number, "since", since)
			a.sess.Printf("Softmodem fallback for %s (learned %s): T.38 off", s.number, since.Format(time.RFC3339))
			s.t38, s.t38Req = false, false
		}
	}
	list, err := api("db list/" + overrideRealm + s.number)
	if err != nil {
		if !errors.Is(err, esl.ErrNoReply) {
			a.log.Warn("mod_db overrides", "err", err)
		}
		return
	}
	for _, k := range strings.Split(strings.TrimSpace(list), ",") {
		k = strings.TrimSpace(k)
		if k == "" || protectedVars[k] {
			continue
		}
		v, err := api("db select/" + overrideRealm + s.number + "/" + k)
		if err != nil {
			a.log.Warn("mod_db override", "variable", k, "err", err)
			continue
		}
		v = strings.TrimRight(v, "\r\n")
		if _, err := call.Originate([]call.Var{{Name: k, Value: v}}, "x", "1", "x"); err != nil {
			a.log.Warn("mod_db override refused", "variable", k, "err", err)
			a.sess.Printf("Override %s refused: unsafe value", k)
			continue
		}
		a.log.Info("overriding dial string variable", "variable", k, "value", v)
		a.sess.Printf("Override %s=%s", k, v)
		s.extra = append(s.extra, call.Var{Name: k, Value: v})
	}
}

// fallbackSince reports whether number is in the fallback realm and still
// counts ([freeswitch] fallbackttl; 0 = forever). The value is the Unix
// time the entry was learned, as GOfax.IP stores it.
func (a *attempt) fallbackSince(api func(string) (string, error), number string) (time.Time, bool) {
	v, err := api("db select/" + fallbackRealm + "/" + number)
	if err != nil {
		if !errors.Is(err, esl.ErrNoReply) {
			a.log.Warn("mod_db fallback lookup", "err", err)
		}
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return time.Time{}, true // an entry we cannot date counts
	}
	since := time.Unix(sec, 0)
	if ttl := a.b.Config.FreeSWITCH.FallbackTTL; ttl > 0 && a.b.Now().Sub(since) > ttl {
		return since, false
	}
	return since, true
}
